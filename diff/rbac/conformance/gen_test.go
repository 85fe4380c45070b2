package conformance

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The generator draws RBAC graphs from small pools of names so that rules,
// bindings and requests collide often: the corners of the semantics are
// where the names meet.

const (
	aggEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggView  = "rbac.authorization.k8s.io/aggregate-to-view"
	aggAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
)

var (
	genNamespaces = []string{"ns-a", "ns-b", "ns-a", "ns-b", "default", "kube-system"}
	genVerbs      = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
		"get", "list", "create", "escalate", "bind", "impersonate", "*", "*"}
	genGroups    = []string{"", "", "", "apps", "extensions", "rbac.authorization.k8s.io", "batch", "authentication.k8s.io", "*", "*"}
	genResources = []string{"pods", "pods", "secrets", "secrets", "configmaps", "services", "serviceaccounts",
		"deployments", "deployments", "replicasets", "daemonsets", "ingresses", "jobs",
		"roles", "rolebindings", "clusterroles", "clusterrolebindings",
		"nodes", "namespaces", "namespaces", "persistentvolumes",
		"pods/exec", "pods/log", "pods/status", "pods/*", "serviceaccounts/token", "namespaces/status", "namespaces/finalize",
		"deployments/scale", "nodes/proxy", "*/scale", "*/*", "*", "*", "users", "groups",
		"uids", "userextras", "userextras/scopes", "*/scopes"}
	genNames  = []string{"n1", "n2", "ns-a", "ns-b", "edit", "sa0"}
	genURLs   = []string{"/healthz", "/metrics", "/api/*", "/apis", "/apis/*", "/logs/*", "*", "/version/", "/healthz/*"}
	genNRVerb = []string{"get", "get", "post", "put", "*"}
	// Role names: generated ones collide with each other across
	// namespaces; built-in and dangling ones test resolution.
	genBuiltinClusterRoles = []string{"view", "edit", "admin", "cluster-admin", "system:basic-user", "system:aggregate-to-edit"}
	genLeafLabels          = []map[string]string{
		{aggEdit: "true"}, {aggView: "true"}, {aggAdmin: "true"},
		{"team": "x"}, {"team": "y"}, {"tier": "t1"}, {"tier": "t2"}, {"tier": "t1", "team": "x"}, {aggEdit: "true", "tier": "t2"},
	}
)

// byteSource is a rand.Source that reads fuzzer bytes. Once they are
// drained it continues with a fixed PCG stream: a constant source would make
// rand.IntN's rejection loop spin forever.
type byteSource struct {
	b    []byte
	rest rand.PCG
}

func (s *byteSource) Uint64() uint64 {
	if len(s.b) == 0 {
		return s.rest.Uint64()
	}
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

type gen struct {
	r *rand.Rand
	n int // counter for fresh names
}

func newGen(src rand.Source) *gen { return &gen{r: rand.New(src)} }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) some(xs []string, max int) []string {
	n := 1 + g.r.IntN(max)
	var out []string
	for range n {
		x := pick(g, xs)
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (g *gen) fresh(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%d", prefix, g.n)
}

func (g *gen) resourceRule() rbacv1.PolicyRule {
	r := rbacv1.PolicyRule{
		Verbs:     g.some(genVerbs, 3),
		APIGroups: g.some(genGroups, 2),
		Resources: g.some(genResources, 3),
	}
	if g.chance(0.25) {
		r.ResourceNames = g.some(genNames, 2)
	}
	if g.chance(0.03) {
		// The API server rejects these; a repository can still hold them.
		switch g.r.IntN(3) {
		case 0:
			r.APIGroups = nil
		case 1:
			r.Verbs = []string{"Get"} // verbs are case-sensitive
		default:
			r.NonResourceURLs = []string{"/healthz"} // both kinds in one rule
		}
	}
	return r
}

func (g *gen) nonResourceRule() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: g.some(genNRVerb, 2), NonResourceURLs: g.some(genURLs, 2)}
}

func (g *gen) rules(cluster bool) []rbacv1.PolicyRule {
	n := g.r.IntN(4) // zero rules happen too
	var out []rbacv1.PolicyRule
	for range n {
		if cluster && g.chance(0.15) {
			out = append(out, g.nonResourceRule())
		} else {
			out = append(out, g.resourceRule())
		}
	}
	return out
}

func (g *gen) subject(ns string) rbacv1.Subject {
	switch g.r.IntN(11) {
	case 0, 1, 2:
		return rbacv1.Subject{Kind: "ServiceAccount", Namespace: pick(g, genNamespaces[:5]), Name: pick(g, []string{"sa0", "sa1", "sa2"})}
	case 3:
		// No namespace: the binding's own, or nobody in a ClusterRoleBinding.
		return rbacv1.Subject{Kind: "ServiceAccount", Name: pick(g, []string{"sa0", "sa1"})}
	case 4, 5:
		return rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: pick(g, []string{"alice", "bob", "alice", "Alice"})}
	case 6:
		// A User named like a service account is that service account.
		return rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "system:serviceaccount:" + pick(g, []string{"ns-a", "ns-b"}) + ":sa0"}
	case 7:
		return rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "devs"}
	default:
		if ns == "" {
			ns = "ns-b"
		}
		return rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: pick(g, []string{
			"system:serviceaccounts", "system:serviceaccounts:ns-a", "system:serviceaccounts:" + ns, "system:authenticated", "devs",
			"system:serviceaccounts", "system:serviceaccounts:ns-a", "system:serviceaccounts:" + ns, "system:authenticated", "devs",
			"system:masters", "system:unauthenticated"})}
	}
}

func (g *gen) subjects(ns string) []rbacv1.Subject {
	n := 1 + g.r.IntN(3)
	var out []rbacv1.Subject
	for range n {
		s := g.subject(ns)
		if s.Kind == "ServiceAccount" && s.Namespace == "" && ns == "" && g.chance(0.5) {
			s.Namespace = "ns-a"
		}
		out = append(out, s)
	}
	return out
}

// Generate draws one base graph.
func (g *gen) Generate() Policy {
	var p Policy
	// Leaf ClusterRoles, some labelled for aggregation.
	for i := range 1 + g.r.IntN(4) {
		cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cr%d", i)}, Rules: g.rules(true)}
		if g.chance(0.4) {
			cr.Labels = copyLabels(pick(g, genLeafLabels))
		}
		p.ClusterRoles = append(p.ClusterRoles, cr)
	}
	// Aggregating ClusterRoles, acyclic by construction: agg-mid selects
	// "tier" and may carry "team" or a built-in label; agg-top selects "team"
	// and may carry a built-in label; agg-any uses negative selectors (which
	// match the built-ins) and carries no labels, so nothing selects it.
	if g.chance(0.5) {
		cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg-mid"},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{g.selector("tier", "t1", "t2")}}}
		if g.chance(0.5) {
			cr.Labels = copyLabels(pick(g, []map[string]string{{"team": "x"}, {aggEdit: "true"}, {aggView: "true"}}))
		}
		if g.chance(0.3) {
			cr.Rules = g.rules(true) // hand-written, overwritten
		}
		p.ClusterRoles = append(p.ClusterRoles, cr)
	}
	if g.chance(0.4) {
		cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg-top"},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{g.selector("team", "x", "y")}}}
		if g.chance(0.5) {
			cr.Labels = copyLabels(pick(g, []map[string]string{{aggAdmin: "true"}, {aggEdit: "true"}}))
		}
		p.ClusterRoles = append(p.ClusterRoles, cr)
	}
	if g.chance(0.1) {
		op := pick(g, []metav1.LabelSelectorOperator{metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpDoesNotExist})
		req := metav1.LabelSelectorRequirement{Key: "team", Operator: op}
		if op == metav1.LabelSelectorOpNotIn {
			req.Values = []string{"x"}
		}
		sel := []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "t1"}}, {MatchExpressions: []metav1.LabelSelectorRequirement{req}}}
		p.ClusterRoles = append(p.ClusterRoles, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg-any"},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: sel[g.r.IntN(2):]}})
	}
	// A repository ClusterRole that replaces a built-in one.
	if g.chance(0.05) {
		cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: pick(g, []string{"view", "system:aggregate-to-edit", "system:basic-user"})}, Rules: g.rules(true)}
		if cr.Name == "view" && g.chance(0.5) {
			cr.Labels = map[string]string{aggEdit: "true"}
		}
		p.ClusterRoles = append(p.ClusterRoles, cr)
	}
	// Roles.
	for i := range g.r.IntN(4) {
		p.Roles = append(p.Roles, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("r%d", i%2), Namespace: pick(g, genNamespaces)},
			Rules:      g.rules(false)})
	}
	dedupeRoles(&p)
	// Bindings.
	for i := range 1 + g.r.IntN(4) {
		ns := pick(g, genNamespaces)
		p.RoleBindings = append(p.RoleBindings, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rb%d", i), Namespace: ns},
			RoleRef:    g.roleRef(&p, ns),
			Subjects:   g.subjects(ns)})
	}
	for i := range g.r.IntN(3) {
		p.ClusterRoleBindings = append(p.ClusterRoleBindings, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("crb%d", i)},
			RoleRef:    g.clusterRoleRef(&p),
			Subjects:   g.subjects("")})
	}
	return p
}

func (g *gen) selector(key string, values ...string) metav1.LabelSelector {
	switch g.r.IntN(3) {
	case 0:
		return metav1.LabelSelector{MatchLabels: map[string]string{key: values[0]}}
	case 1:
		return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: metav1.LabelSelectorOpIn, Values: values}}}
	default:
		return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: metav1.LabelSelectorOpExists}}}
	}
}

func (g *gen) clusterRoleRef(p *Policy) rbacv1.RoleRef {
	name := "missing"
	switch g.r.IntN(10) {
	case 0, 1, 2, 3, 4, 5:
		if len(p.ClusterRoles) > 0 {
			name = pick(g, p.ClusterRoles).Name
		}
	case 6, 7, 8:
		name = pick(g, genBuiltinClusterRoles)
	}
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
}

func (g *gen) roleRef(p *Policy, ns string) rbacv1.RoleRef {
	if g.chance(0.5) {
		return g.clusterRoleRef(p)
	}
	var names []string
	for _, r := range p.Roles {
		if r.Namespace == ns {
			names = append(names, r.Name)
		}
	}
	if ns == "kube-system" {
		names = append(names, "extension-apiserver-authentication-reader", "system:controller:bootstrap-signer")
	}
	name := "missing-role"
	if len(names) > 0 && g.chance(0.85) {
		name = pick(g, names)
	} else if len(p.Roles) > 0 && g.chance(0.5) {
		name = pick(g, p.Roles).Name // a Role of another namespace: dangling here
	}
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
}

func copyLabels(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func dedupeRoles(p *Policy) {
	seen := map[string]bool{}
	p.Roles = slices.DeleteFunc(p.Roles, func(r *rbacv1.Role) bool {
		k := r.Namespace + "/" + r.Name
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	})
}

// DeepCopy copies every object of p.
func (p Policy) deepCopy() Policy {
	var q Policy
	for _, o := range p.Roles {
		q.Roles = append(q.Roles, o.DeepCopy())
	}
	for _, o := range p.RoleBindings {
		q.RoleBindings = append(q.RoleBindings, o.DeepCopy())
	}
	for _, o := range p.ClusterRoles {
		q.ClusterRoles = append(q.ClusterRoles, o.DeepCopy())
	}
	for _, o := range p.ClusterRoleBindings {
		q.ClusterRoleBindings = append(q.ClusterRoleBindings, o.DeepCopy())
	}
	return q
}

// Mutate turns a base graph into a head graph the way pull requests do:
// one to three edits.
func (g *gen) Mutate(base Policy) (Policy, []string) {
	p := base.deepCopy()
	var did []string
	for range 1 + g.r.IntN(3) {
		if m := g.mutate(&p); m != "" {
			did = append(did, m)
		}
	}
	return p, did
}

// ruleRef is a pointer to the rules of one role, either kind.
type ruleRef struct {
	rules   *[]rbacv1.PolicyRule
	cluster bool
	name    string
}

func (p *Policy) ruleSets() []ruleRef {
	var out []ruleRef
	for _, r := range p.ClusterRoles {
		out = append(out, ruleRef{&r.Rules, true, r.Name})
	}
	for _, r := range p.Roles {
		out = append(out, ruleRef{&r.Rules, false, r.Name})
	}
	return out
}

func (g *gen) mutate(p *Policy) string {
	sets := p.ruleSets()
	switch g.r.IntN(16) {
	case 0, 1: // add a verb
		if rs := nonEmpty(sets); len(rs) > 0 {
			s := pick(g, rs)
			i := g.r.IntN(len(*s.rules))
			r := &(*s.rules)[i]
			verbs := genVerbs
			if len(r.NonResourceURLs) > 0 {
				verbs = genNRVerb
			}
			r.Verbs = append(slices.Clone(r.Verbs), pick(g, verbs))
			return "add verb to " + s.name
		}
	case 2, 3: // widen a resource, a group, or drop resourceNames
		if rs := nonEmpty(sets); len(rs) > 0 {
			s := pick(g, rs)
			r := &(*s.rules)[g.r.IntN(len(*s.rules))]
			switch {
			case len(r.ResourceNames) > 0 && g.chance(0.5):
				r.ResourceNames = nil
			case len(r.NonResourceURLs) > 0:
				r.NonResourceURLs = append(slices.Clone(r.NonResourceURLs), pick(g, genURLs))
			case g.chance(0.3):
				r.APIGroups = append(slices.Clone(r.APIGroups), pick(g, genGroups))
			default:
				r.Resources = append(slices.Clone(r.Resources), pick(g, genResources))
			}
			return "widen a rule of " + s.name
		}
	case 4: // move a RoleBinding to a ClusterRoleBinding
		if len(p.RoleBindings) > 0 {
			i := g.r.IntN(len(p.RoleBindings))
			rb := p.RoleBindings[i]
			if rb.RoleRef.Kind == "ClusterRole" {
				p.RoleBindings = slices.Delete(p.RoleBindings, i, i+1)
				crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: g.fresh("moved")}, RoleRef: rb.RoleRef, Subjects: rb.Subjects}
				for j, s := range crb.Subjects {
					if s.Kind == "ServiceAccount" && s.Namespace == "" {
						crb.Subjects[j].Namespace = rb.Namespace
					}
				}
				p.ClusterRoleBindings = append(p.ClusterRoleBindings, crb)
				return "move RoleBinding to ClusterRoleBinding"
			}
		}
	case 5: // rename a ClusterRole and its bindings
		if len(p.ClusterRoles) > 0 {
			cr := pick(g, p.ClusterRoles)
			old, name := cr.Name, g.fresh("renamed")
			cr.Name = name
			for _, b := range p.RoleBindings {
				if b.RoleRef.Kind == "ClusterRole" && b.RoleRef.Name == old {
					b.RoleRef.Name = name
				}
			}
			for _, b := range p.ClusterRoleBindings {
				if b.RoleRef.Name == old {
					b.RoleRef.Name = name
				}
			}
			return "rename ClusterRole " + old
		}
	case 6: // split a role into two bound to the same subjects
		for _, r := range p.Roles {
			if len(r.Rules) < 2 {
				continue
			}
			half := len(r.Rules) / 2
			nr := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: g.fresh("split"), Namespace: r.Namespace}, Rules: slices.Clone(r.Rules[half:])}
			r.Rules = slices.Clone(r.Rules[:half])
			p.Roles = append(p.Roles, nr)
			for _, b := range slices.Clone(p.RoleBindings) {
				if b.Namespace == r.Namespace && b.RoleRef.Kind == "Role" && b.RoleRef.Name == r.Name {
					nb := b.DeepCopy()
					nb.Name = g.fresh("split")
					nb.RoleRef.Name = nr.Name
					p.RoleBindings = append(p.RoleBindings, nb)
				}
			}
			return "split Role " + r.Name
		}
	case 7: // merge two ClusterRoles into the first
		if len(p.ClusterRoles) >= 2 {
			a, b := p.ClusterRoles[0], p.ClusterRoles[1]
			if a.AggregationRule == nil && b.AggregationRule == nil {
				a.Rules = append(slices.Clone(a.Rules), b.Rules...)
				return "merge ClusterRole " + b.Name + " into " + a.Name
			}
		}
	case 8: // add an aggregation label
		if len(p.ClusterRoles) > 0 {
			cr := pick(g, p.ClusterRoles)
			if cr.AggregationRule == nil {
				if cr.Labels == nil {
					cr.Labels = map[string]string{}
				}
				for k, v := range pick(g, genLeafLabels) {
					cr.Labels[k] = v
				}
				return "label ClusterRole " + cr.Name
			}
		}
	case 9: // remove a rule
		if rs := nonEmpty(sets); len(rs) > 0 {
			s := pick(g, rs)
			i := g.r.IntN(len(*s.rules))
			*s.rules = slices.Delete(slices.Clone(*s.rules), i, i+1)
			return "remove a rule of " + s.name
		}
	case 10: // add a rule
		if len(sets) > 0 {
			s := pick(g, sets)
			r := g.resourceRule()
			if s.cluster && g.chance(0.2) {
				r = g.nonResourceRule()
			}
			*s.rules = append(slices.Clone(*s.rules), r)
			return "add a rule to " + s.name
		}
	case 11: // add a subject
		if len(p.RoleBindings) > 0 && g.chance(0.5) {
			b := pick(g, p.RoleBindings)
			b.Subjects = append(b.Subjects, g.subject(b.Namespace))
			return "add subject to " + b.Name
		}
		if len(p.ClusterRoleBindings) > 0 {
			b := pick(g, p.ClusterRoleBindings)
			b.Subjects = append(b.Subjects, g.subject(""))
			return "add subject to " + b.Name
		}
	case 12: // a new binding
		if g.chance(0.5) {
			ns := pick(g, genNamespaces)
			p.RoleBindings = append(p.RoleBindings, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: g.fresh("rbnew"), Namespace: ns}, RoleRef: g.roleRef(p, ns), Subjects: g.subjects(ns)})
		} else {
			p.ClusterRoleBindings = append(p.ClusterRoleBindings, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: g.fresh("crbnew")}, RoleRef: g.clusterRoleRef(p), Subjects: g.subjects("")})
		}
		return "new binding"
	case 13: // a new Role where a binding dangles, or a new ClusterRole
		if g.chance(0.5) {
			for _, b := range p.RoleBindings {
				if b.RoleRef.Kind == "Role" && !hasRole(p, b.Namespace, b.RoleRef.Name) {
					p.Roles = append(p.Roles, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: b.RoleRef.Name, Namespace: b.Namespace}, Rules: g.rules(false)})
					return "define dangling Role " + b.RoleRef.Name
				}
			}
		}
		cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: g.fresh("crnew")}, Rules: g.rules(true)}
		if g.chance(0.5) {
			cr.Labels = copyLabels(pick(g, genLeafLabels))
		}
		p.ClusterRoles = append(p.ClusterRoles, cr)
		return "new ClusterRole"
	case 14, 15: // narrow a rule's verbs: a partial loss (a partial gain when read backwards)
		return g.narrow(nonEmpty(sets))
	}
	return ""
}

// narrow takes part of a rule's verbs away: a "*" becomes one to three
// concrete verbs (keda's configmaps "*" → get, list, watch), or one verb
// of several is dropped. Rules with a "*" are chosen first, so that
// narrowed wildcards are frequent.
func (g *gen) narrow(sets []ruleRef) string {
	type ref struct {
		r    *rbacv1.PolicyRule
		name string
	}
	var star, many []ref
	for _, s := range sets {
		for i := range *s.rules {
			r := &(*s.rules)[i]
			if slices.Contains(r.Verbs, rbacv1.VerbAll) {
				star = append(star, ref{r, s.name})
			} else if len(r.Verbs) > 1 {
				many = append(many, ref{r, s.name})
			}
		}
	}
	switch {
	case len(star) > 0 && (len(many) == 0 || g.chance(0.8)):
		x := pick(g, star)
		concrete := genVerbs[:8]
		if len(x.r.NonResourceURLs) > 0 {
			concrete = genNRVerb[:4]
		}
		x.r.Verbs = g.some(concrete, 3)
		return "narrow * verbs of " + x.name
	case len(many) > 0:
		x := pick(g, many)
		i := g.r.IntN(len(x.r.Verbs))
		x.r.Verbs = slices.Delete(slices.Clone(x.r.Verbs), i, i+1)
		return "drop a verb of " + x.name
	}
	return ""
}

func hasRole(p *Policy, ns, name string) bool {
	return slices.ContainsFunc(p.Roles, func(r *rbacv1.Role) bool { return r.Namespace == ns && r.Name == name })
}

func nonEmpty(sets []ruleRef) []ruleRef {
	var out []ruleRef
	for _, s := range sets {
		if len(*s.rules) > 0 {
			out = append(out, s)
		}
	}
	return out
}
