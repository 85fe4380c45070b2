package rbac

import (
	"cmp"
	"maps"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/report"
)

// Holder is everything one user is granted, gathered once so that many
// requests can be asked of it cheaply (diff/escalation asks thousands). It
// answers exactly as Graph.Allows does: the same grants, walked in the same
// order, matched by the same RuleAllows; it only skips the bindings that do
// not name the user, which Allows skips one by one.
type Holder struct {
	g          *Graph
	self       subject
	cluster    []*grant            // through ClusterRoleBindings
	ns         map[string][]*grant // through RoleBindings, by namespace
	namespaces []string            // the keys of ns, sorted
	// role is set for RoleHolder: its grants come through no binding of
	// the graph, so their chains start at the role.
	role bool
}

// RoleHolder is everyone bound to the ClusterRole name cluster-wide: the
// role's rules as a ClusterRoleBinding would grant them, whoever it binds
// (it may be bound outside the repository). Nil when there is no such role.
func (g *Graph) RoleHolder(name string) *Holder {
	r := g.roles[roleKey{"ClusterRole", "", name}]
	if r == nil {
		return nil
	}
	b := &binding{kind: "ClusterRoleBinding", roleRef: rbacv1.RoleRef{APIGroup: Group, Kind: "ClusterRole", Name: name}, builtin: r.builtin}
	h := &Holder{g: g, role: true}
	for _, ru := range r.rules {
		h.cluster = append(h.cluster, &grant{rule: ru, binding: b})
	}
	return h
}

// chain and location are those of a grant, from the role on for a
// RoleHolder.
func (h *Holder) chain(gr *grant) []report.Ref {
	if h.role {
		return gr.via
	}
	return gr.chain()
}

func (h *Holder) location(gr *grant, a rbacv1.PolicyRule) report.Location {
	if h.role {
		return h.g.location(gr.rule, nil, 0, a)
	}
	return h.g.location(gr.rule, gr.binding, gr.subjectIdx, a)
}

// ChangedRoles lists, sorted, the ClusterRoles of head whose rules differ
// from base's and whose holders the repository does not name: built-in
// roles (extended by aggregation labels) and roles no binding of the tree
// uses — the ones rbac.increase reports as "everyone bound to" them.
func ChangedRoles(base, head *Graph) []string {
	var out []string
	for k, hr := range head.roles {
		br := base.roles[k]
		if k.kind != "ClusterRole" || hr.external || br == nil || !(isBootstrapRole(k.name) || !head.boundClusterRoles[k.name]) {
			continue
		}
		if !sameRules(br.rules, hr.rules) {
			out = append(out, k.name)
		}
	}
	slices.Sort(out)
	return out
}

// Holder gathers the grants of u: those of its own name (a
// "system:serviceaccount:ns:name" user is that ServiceAccount) and of each
// of its groups. The groups are u's own: callers add the implicit ones
// (system:authenticated, system:serviceaccounts…) as the authenticator would.
func (g *Graph) Holder(u User) *Holder {
	h := &Holder{g: g}
	var who []subject
	if u.Name != "" {
		h.self, _ = subjectOf(rbacv1.Subject{Kind: rbacv1.UserKind, Name: u.Name}, nil)
		who = append(who, h.self)
	}
	for _, grp := range u.Groups {
		who = append(who, subject{kind: "Group", name: grp})
	}
	for _, s := range who {
		for scope, grs := range g.grants[s] {
			for i := range grs {
				if scope == "" {
					h.cluster = append(h.cluster, &grs[i])
					continue
				}
				if h.ns == nil {
					h.ns = map[string][]*grant{}
				}
				h.ns[scope] = append(h.ns[scope], &grs[i])
			}
		}
	}
	// The authorizer's order: bindings sorted by kind, namespace and name.
	byBinding := func(a, b *grant) int {
		return cmp.Or(strings3(a.binding, b.binding), cmp.Compare(a.subjectIdx, b.subjectIdx))
	}
	if len(who) > 1 {
		slices.SortStableFunc(h.cluster, byBinding)
		for _, grs := range h.ns {
			slices.SortStableFunc(grs, byBinding)
		}
	}
	h.namespaces = slices.Sorted(maps.Keys(h.ns))
	return h
}

func strings3(a, b *binding) int {
	return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
}

// Allows reports whether the user may make r: a ClusterRoleBinding grant,
// or a RoleBinding grant of r's namespace, whose rule allows it.
func (h *Holder) Allows(r Request) bool {
	_, ok := h.first(r, false)
	return ok
}

// Namespaces lists, sorted, the namespaces where RoleBindings grant the
// user something. Outside them only its ClusterRoleBinding grants apply,
// and those do not depend on the namespace of a request: a rule never
// names one.
func (h *Holder) Namespaces() []string { return h.namespaces }

// Probes is a set of requests asked, with names and namespaces left out,
// of many holders of one graph: whether any grant of a holder could allow
// any of them, remembered per rule (the repository's rules repeat).
type Probes struct {
	reqs  []Request
	rules map[string]bool
}

// NewProbes returns probes for reqs; their names and namespaces are ignored.
func NewProbes(reqs []Request) *Probes { return &Probes{reqs: reqs, rules: map[string]bool{}} }

// MayAllowAny reports whether some grant of the user allows one of the
// probes for some name in some namespace: when it is false, none of those
// requests is allowed whatever their name and namespace.
func (h *Holder) MayAllowAny(p *Probes) bool {
	if slices.ContainsFunc(h.cluster, p.mayAllow) {
		return true
	}
	for _, grs := range h.ns {
		if slices.ContainsFunc(grs, p.mayAllow) {
			return true
		}
	}
	return false
}

// mayAllow reports whether the grant's rule allows a probe for some name.
func (p *Probes) mayAllow(gr *grant) bool {
	hit, ok := p.rules[gr.key]
	if !ok {
		pr := gr.PolicyRule
		pr.ResourceNames = nil
		for _, r := range p.reqs {
			if hit = RuleAllows(pr, r); hit {
				break
			}
		}
		p.rules[gr.key] = hit
	}
	return hit
}

// MayAllowNamed reports whether some grant of the user would allow r if
// it named the right object: a rule that allows r but for its
// resourceNames. It only prunes a search (r with the real name must
// still be asked of Allows).
func (h *Holder) MayAllowNamed(r Request) bool {
	try := func(grs []*grant) bool {
		for _, gr := range grs {
			pr := gr.PolicyRule
			pr.ResourceNames = nil
			if RuleAllows(pr, r) {
				return true
			}
		}
		return false
	}
	return try(h.cluster) || r.Namespace != "" && try(h.ns[r.Namespace])
}

// Evidence is the grant that allows one request: the request as one atomic
// permission, where it applies, the chain from binding to rule, and the
// line a reviewer should read (a line the pull request changed, if the
// graph knows them and one of the grant's lines is).
type Evidence struct {
	Permission report.Permission
	Scope      report.Scope
	Via        []report.Ref
	Location   report.Location
	// Builtin is set when the grant comes from Kubernetes' bootstrap policy.
	Builtin bool
}

// Explain returns the grant that allows r, preferring one the repository
// wrote and, among those, one whose line the pull request changed;
// ok is false when Allows(r) is false.
func (h *Holder) Explain(r Request) (Evidence, bool) {
	gr, ok := h.first(r, true)
	if !ok {
		return Evidence{}, false
	}
	a := requestAtom(r)
	scope := gr.binding.namespace
	return Evidence{
		Permission: permission(a),
		Scope:      *scopeOf(scope),
		Via:        h.chain(gr),
		Location:   h.location(gr, a),
		Builtin:    gr.binding.builtin,
	}, true
}

// first finds a grant allowing r; with best it keeps looking for one of
// the repository and one on a changed line.
func (h *Holder) first(r Request, best bool) (*grant, bool) {
	var found *grant
	ok := false
	rank := func(gr *grant) int {
		switch {
		case gr.binding.builtin:
			return 0
		case h.g.changed != nil && h.g.changedGrant(gr, r):
			return 2
		}
		return 1
	}
	look := func(grs []*grant) bool {
		for _, gr := range grs {
			if !RuleAllows(gr.PolicyRule, r) {
				continue
			}
			if !best {
				found, ok = gr, true
				return true
			}
			if !ok || rank(gr) > rank(found) {
				found, ok = gr, true
				if rank(gr) == 2 {
					return true
				}
			}
		}
		return false
	}
	if look(h.cluster) {
		return found, true
	}
	if r.Namespace != "" {
		look(h.ns[r.Namespace])
	}
	return found, ok
}

func (g *Graph) changedGrant(gr *grant, r Request) bool {
	loc := g.location(gr.rule, gr.binding, gr.subjectIdx, requestAtom(r))
	return loc.Path != "" && g.changed(loc.Path, loc.Line)
}

// requestAtom is the one-verb, one-resource rule that allows exactly r.
func requestAtom(r Request) rbacv1.PolicyRule {
	if !r.ResourceRequest {
		return rbacv1.PolicyRule{Verbs: []string{r.Verb}, NonResourceURLs: []string{r.Path}}
	}
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	a := rbacv1.PolicyRule{Verbs: []string{r.Verb}, APIGroups: []string{r.APIGroup}, Resources: []string{res}}
	if r.Name != "" {
		a.ResourceNames = []string{r.Name}
	}
	return a
}

// Power is the most severe permission a user holds.
type Power struct {
	Severity   report.Severity
	Risk       string // why that permission is dangerous
	Permission report.Permission
	Scope      report.Scope
	Via        []report.Ref
	Location   report.Location
}

// Power returns the most severe permission the user holds, classified as
// rbac.increase findings are, and false when it holds nothing beyond what
// Kubernetes gives every caller (the bootstrap bindings to
// system:authenticated, system:unauthenticated and system:serviceaccounts).
func (h *Holder) Power() (Power, bool) {
	var best Power
	found := false
	visit := func(scope string, grs []*grant) {
		for _, gr := range grs {
			if gr.binding.builtin && !h.role && everyone(gr.binding.subjectAt(gr.subjectIdx)) {
				continue
			}
			for _, a := range atoms(gr.PolicyRule, scope) {
				if h.g.inert(a, scope) != "" {
					continue
				}
				sev, why := classifyAtom(scope, a)
				if found && sev.Rank() <= best.Severity.Rank() {
					continue
				}
				best = Power{Severity: sev, Risk: why, Permission: permission(a), Scope: *scopeOf(scope),
					Via: h.chain(gr), Location: h.location(gr, a)}
				found = true
			}
		}
	}
	visit("", h.cluster)
	for _, ns := range h.Namespaces() {
		visit(ns, h.ns[ns])
	}
	return best, found
}

// subjectAt is the normalised subject i of the binding.
func (b *binding) subjectAt(i int) subject {
	s, _ := subjectOf(b.subjects[i], b)
	return s
}

// Subjects lists the subjects that bindings name, each once, in the order
// of the bindings (sorted by kind, namespace and name) and of their
// subjects; with repositoryOnly, only those of the repository's bindings
// (not the built-in policy's).
func (g *Graph) Subjects(repositoryOnly bool) []report.Subject {
	return g.subjectsOf(func(b *binding) bool { return !repositoryOnly || !b.builtin })
}

// Touches returns the subjects that some grant may allow one of the
// probes to (names and namespaces aside): a user none of whose subjects
// (its name, its groups) is among them is allowed none of those requests.
func (g *Graph) Touches(p *Probes) map[report.Subject]bool {
	out := map[report.Subject]bool{}
	for s, scopes := range g.grants {
		for _, grs := range scopes {
			for i := range grs {
				if p.mayAllow(&grs[i]) {
					out[*s.report()] = true
				}
			}
		}
	}
	return out
}

// Namespaces lists, sorted, the namespaces that RoleBindings of the graph
// (the built-in ones too) are in.
func (g *Graph) Namespaces() []string {
	var out []string
	for ns := range g.byNamespace {
		if ns != "" {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}
