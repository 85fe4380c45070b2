package rbac

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbacguard/rbacguard/diff/report"
)

// Compare diffs the effective permissions of two graphs of one overlay.
// An increase is an atomic permission (one verb on one resource, name or
// URL) a subject holds at head that nothing covered at base — coverage being
// the escalation check's own test. Grants that reach a subject through a
// group it is always in are reported once, for the group.
func Compare(overlay string, base, head *Graph) []report.Finding {
	c := comparison{overlay: overlay, base: base, head: head}
	c.problems()
	for _, s := range sortedSubjects(base, head) {
		for _, scope := range sortedScopes(base.grants[s], head.grants[s]) {
			c.increases(s, scope)
			c.decreases(s, scope)
		}
	}
	c.roleIncreases()
	c.unresolved()
	return c.out
}

// Scan reports the risky access one graph grants through the tree's own
// bindings: every atomic permission of medium severity or more, plus rules
// that grant nothing and roleRefs that resolve nowhere. A binding to a
// built-in role (edit, admin, …) is one finding, at the severity of the
// worst thing the role allows, since its dozens of rules are Kubernetes'
// own and well known.
func Scan(overlay string, g *Graph) []report.Finding {
	c := comparison{overlay: overlay, base: Build(nil, Options{NoBootstrap: true}), head: g}
	c.problems()
	for _, s := range sortedSubjects(g, c.base) {
		for _, scope := range slices.Sorted(maps.Keys(g.grants[s])) {
			seen := map[string]bool{}
			builtins := map[*binding]*roleSummary{}
			var order []*binding
			for _, gr := range g.grants[s][scope] {
				if gr.binding.builtin {
					continue
				}
				ro := g.resolve(gr.binding)
				for _, at := range g.ruleAtoms(gr.PolicyRule, scope) {
					a := at.PolicyRule
					if at.inert != "" {
						if !ro.builtin {
							c.inert(s, scope, gr, a, at.inert)
						}
						continue
					}
					sev, risk := classify(s, scope, a)
					if ownToken(s, scope, a) {
						sev, risk = report.Low, ownTokenRisk
					}
					if ro.builtin {
						sum := builtins[gr.binding]
						if sum == nil {
							sum = &roleSummary{grant: gr, role: ro}
							builtins[gr.binding] = sum
							order = append(order, gr.binding)
						}
						sum.add(a, sev, risk)
						continue
					}
					perm := permission(a)
					if !sev.AtLeast(report.Medium) || seen[perm.Key()] {
						continue
					}
					seen[perm.Key()] = true
					c.add(report.Finding{
						Kind: report.RBACGrant, Severity: sev, Risk: risk,
						Subject: s.report(), Scope: scopeOf(scope), Permission: &perm,
						Via:      gr.chain(),
						Location: g.location(gr.rule, gr.binding, gr.subjectIdx, a),
						Message:  fmt.Sprintf("%s can %s %s", s, perm, scopeOf(scope)),
					})
				}
			}
			for _, b := range order {
				c.builtinGrant(s, scope, builtins[b])
			}
		}
	}
	c.unresolved()
	return c.out
}

// roleSummary gathers what one binding to a built-in role grants.
type roleSummary struct {
	grant grant
	role  *role
	top   rbacv1.PolicyRule
	sev   report.Severity
	risk  string
	n     int
	worst []string // the permissions of the top severity, for the message
}

func (r *roleSummary) add(a rbacv1.PolicyRule, sev report.Severity, risk string) {
	r.n++
	switch {
	case sev.Rank() > r.sev.Rank():
		r.top, r.sev, r.risk, r.worst = a, sev, risk, []string{permission(a).String()}
	case sev == r.sev && len(r.worst) < 4:
		r.worst = append(r.worst, permission(a).String())
	}
}

func (c *comparison) builtinGrant(s subject, scope string, r *roleSummary) {
	if r.n == 0 || !r.sev.AtLeast(report.Medium) {
		return
	}
	perm := permission(r.top)
	b := r.grant.binding
	c.add(report.Finding{
		Kind: report.RBACGrant, Severity: r.sev, Risk: r.risk,
		Subject: s.report(), Scope: scopeOf(scope), Permission: &perm,
		Via:      []report.Ref{b.ref(fmt.Sprintf("subjects[%d]", r.grant.subjectIdx)), r.role.ref("")},
		Location: c.head.location(rule{}, b, r.grant.subjectIdx, r.top),
		Message: fmt.Sprintf("%s is bound to the built-in %s %s %s: %d permissions, among them %s",
			s, r.role.key.kind, r.role.key.name, scopeOf(scope), r.n, strings.Join(r.worst, "; ")),
	})
}

type comparison struct {
	overlay    string
	base, head *Graph
	out        []report.Finding
	ids        map[string]bool
}

func (c *comparison) add(f report.Finding) {
	f.Overlay = c.overlay
	// Never a message: ids stay when wording or line numbers change.
	f.ID = report.ID(f.Kind, c.overlay, f.Subject, f.Scope, f.Cause)
	if f.Permission != nil {
		// Atomic findings are identified by what they grant, not by wording.
		f.ID = report.ID(f.Kind, c.overlay, *f.Subject, *f.Scope, f.Permission.Key())
	}
	if c.ids == nil {
		c.ids = map[string]bool{}
	}
	if c.ids[f.ID] {
		return
	}
	c.ids[f.ID] = true
	if f.Location.Path == "" {
		f.Location = defaultLocation(f.Via)
	}
	c.out = append(c.out, f)
}

// defaultLocation is the most specific link of a chain that is in the
// repository: the rule if it is, else the binding.
func defaultLocation(via []report.Ref) report.Location {
	for i := len(via) - 1; i >= 0; i-- {
		if via[i].Path != "" {
			return report.Location{Path: via[i].Path, Line: via[i].Line}
		}
	}
	return report.Location{}
}

// problems reports manifest problems of head; those base had too are
// not the change's, and are kept at info, marked preexisting.
func (c *comparison) problems() {
	old := map[string]bool{}
	for _, p := range c.base.problems {
		old[p.Cause] = true
	}
	for _, p := range c.head.problems {
		if old[p.Cause] {
			p.Severity, p.Preexisting = report.Info, true
		}
		c.add(p)
	}
}

func (c *comparison) increases(s subject, scope string) {
	headGrants := c.head.grants[s][scope]
	if subsetByKey(headGrants, c.base.grants[s][scope]) {
		return // same rules or fewer: nothing can be new
	}
	baseCover := c.base.coverage(s, scope, true)
	headCover := c.head.coverage(s, scope, false)
	for _, gr := range headGrants {
		for _, at := range c.head.ruleAtoms(gr.PolicyRule, scope) {
			a := at.PolicyRule
			if at.inert != "" {
				if !c.base.holdsInert(s, scope, a) {
					c.inert(s, scope, gr, a, at.inert)
				}
				continue
			}
			if covers(baseCover, a, scope) || covers(headCover, a, scope) {
				continue
			}
			sev, risk := classify(s, scope, a)
			switch v := heldAs(baseCover, a, scope); {
			case v != "":
				sev, risk = report.Info, fmt.Sprintf("it could already %s them, which does as much", v)
			case ownToken(s, scope, a):
				sev, risk = report.Low, ownTokenRisk
			}
			perm := permission(a)
			c.add(report.Finding{
				Kind: report.RBACIncrease, Severity: sev, Risk: risk,
				Subject: s.report(), Scope: scopeOf(scope), Permission: &perm,
				Via:      gr.chain(),
				Location: c.head.location(gr.rule, gr.binding, gr.subjectIdx, a),
				Message:  fmt.Sprintf("%s can now %s %s", s, perm, scopeOf(scope)),
			})
		}
	}
}

func (c *comparison) decreases(s subject, scope string) {
	baseGrants := c.base.grants[s][scope]
	if subsetByKey(baseGrants, c.head.grants[s][scope]) {
		return
	}
	headCover := c.head.coverage(s, scope, true)
	for _, gr := range baseGrants {
		for _, at := range c.base.ruleAtoms(gr.PolicyRule, scope) {
			if at.inert != "" || covers(headCover, at.PolicyRule, scope) {
				continue
			}
			for _, a := range c.lost(at.PolicyRule, scope, headCover) {
				perm := permission(a)
				c.add(report.Finding{
					Kind: report.RBACDecrease, Severity: report.Info,
					Subject: s.report(), Scope: scopeOf(scope), Permission: &perm,
					Via:     gr.chain(),
					Message: fmt.Sprintf("%s can no longer %s %s", s, perm, scopeOf(scope)),
				})
			}
		}
	}
}

// lost is what head takes away of a base atom it does not cover: the
// base permission minus what head still grants, as an increase is the
// reverse. An atom with the verb "*" is spelled out in the verbs it stands
// for (WildcardVerbs) when head still grants some of them, so an account
// narrowed from "*" to get, list and watch "can no longer create, update,
// patch, delete, deletecollection" rather than "can no longer *". When head
// keeps none of them the atom is lost whole and stays "*"; when it keeps
// all of them, only verbs nobody asks are gone and nothing is said.
// Non-resource URLs keep their "*": any HTTP method is a verb there.
func (c *comparison) lost(a rbacv1.PolicyRule, scope string, headCover []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	if len(a.NonResourceURLs) > 0 || a.Verbs[0] != rbacv1.VerbAll {
		return []rbacv1.PolicyRule{a}
	}
	var gone []rbacv1.PolicyRule
	kept := false
	for _, v := range WildcardVerbs(a.APIGroups[0], a.Resources[0]) {
		b := a
		b.Verbs = []string{v}
		switch {
		case c.base.inert(b, scope) != "" || unreal(b, scope) != "":
			// "*" never granted it: nothing to lose.
		case covers(headCover, b, scope):
			kept = true
		default:
			gone = append(gone, b)
		}
	}
	if !kept {
		return []rbacv1.PolicyRule{a}
	}
	return gone
}

// roleIncreases reports ClusterRoles whose rules grew while the subjects
// bound to them live outside the repository: built-in roles extended by
// aggregation labels, and repository roles that no binding here uses and
// no other role aggregates (whoever holds those holds them through the
// aggregating role, and is reported there). A rule that reaches a role
// through another role reported here (edit's new rule, in admin) is
// reported once, for that role.
func (c *comparison) roleIncreases() {
	reported := func(k roleKey) bool {
		hr := c.head.roles[k]
		if k.kind != "ClusterRole" || hr == nil || hr.external || c.base.roles[k] == nil {
			return false
		}
		return isBootstrapRole(k.name) || !c.head.boundClusterRoles[k.name] && !c.head.aggregatedInto[k.name]
	}
	// through names the reported role a rule comes through, if any.
	through := func(k roleKey, r rule) string {
		for _, ref := range r.via[1:] {
			if ref.Kind == "ClusterRole" && ref.Name != k.name && reported(roleKey{kind: "ClusterRole", name: ref.Name}) {
				return ref.Name
			}
		}
		return ""
	}
	keys := slices.SortedFunc(maps.Keys(c.head.roles), compareRoleKeys)
	aggregators := map[string][]string{} // reported role → reported roles that aggregate it
	for _, k := range keys {
		if !reported(k) {
			continue
		}
		for _, r := range c.head.roles[k].rules {
			if t := through(k, r); t != "" && !slices.Contains(aggregators[t], k.name) {
				aggregators[t] = append(aggregators[t], k.name)
			}
		}
	}
	for _, k := range keys {
		if !reported(k) {
			continue
		}
		hr, br := c.head.roles[k], c.base.roles[k]
		var owner []rbacv1.PolicyRule
		for _, r := range br.rules {
			owner = append(owner, r.PolicyRule)
		}
		s := subject{kind: "ClusterRole", name: k.name}
		also := ""
		if more := aggregators[k.name]; len(more) > 0 {
			verb := "aggregates"
			if len(more) > 1 {
				verb = "aggregate"
			}
			also = " (so can everyone bound to " + strings.Join(more, ", ") + ", which " + verb + " it)"
		}
		for _, r := range hr.rules {
			if through(k, r) != "" {
				continue
			}
			for _, at := range c.head.ruleAtoms(r.PolicyRule, "") {
				a := at.PolicyRule
				if at.inert != "" || covers(owner, a, "") {
					continue
				}
				sev, risk := classify(s, "", a)
				perm := permission(a)
				c.add(report.Finding{
					Kind: report.RBACIncrease, Severity: sev, Risk: risk,
					Subject: s.report(), Scope: scopeOf(""), Permission: &perm,
					Via:      r.via,
					Location: c.head.location(r, nil, 0, a),
					Message:  fmt.Sprintf("everyone bound to ClusterRole %s can now %s%s", k.name, perm, also),
				})
			}
		}
	}
}

func compareRoleKeys(a, b roleKey) int {
	return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.namespace, b.namespace), strings.Compare(a.name, b.name))
}

// unresolved reports bindings of head whose role is defined nowhere and
// that base did not already have: what they grant is unknown, not nothing.
func (c *comparison) unresolved() {
	type key struct {
		kind, ns, name, ref string
		s                   subject
	}
	old := map[key]bool{}
	for _, u := range c.base.unresolved {
		old[key{u.binding.kind, u.binding.namespace, u.binding.name, u.binding.roleRef.Kind + "/" + u.binding.roleRef.Name, u.subject}] = true
	}
	for _, u := range c.head.unresolved {
		b := u.binding
		if old[key{b.kind, b.namespace, b.name, b.roleRef.Kind + "/" + b.roleRef.Name, u.subject}] {
			continue
		}
		where := "cluster-wide"
		if b.namespace != "" {
			where = "in namespace " + b.namespace
		}
		ref := b.ref("roleRef")
		c.add(report.Finding{
			Kind: report.RBACUnresolvedRole, Severity: report.Info,
			Subject: u.subject.report(), Scope: scopeOf(u.scope),
			Cause:    b.kind + " " + nsName(b.namespace, b.name) + " → " + b.roleRef.Kind + " " + b.roleRef.Name,
			Via:      []report.Ref{ref},
			Location: report.Location{Path: ref.Path, Line: ref.Line},
			Message: fmt.Sprintf("%s binds %s to %s %s, which is neither in the repository nor built in: what it grants %s is unknown",
				b.kind+" "+nsName(b.namespace, b.name), u.subject, b.roleRef.Kind, b.roleRef.Name, where),
			Risk: "the role may exist in the cluster with any permissions; define it in the repository or list it under externalRoles in the policy",
		})
	}
}

func (c *comparison) inert(s subject, scope string, gr grant, a rbacv1.PolicyRule, why string) {
	perm := permission(a)
	c.add(report.Finding{
		Kind: report.RBACInert, Severity: report.Info,
		Subject: s.report(), Scope: scopeOf(scope), Permission: &perm,
		Via:      gr.chain(),
		Location: c.head.location(gr.rule, gr.binding, gr.subjectIdx, a),
		Message:  fmt.Sprintf("%s is granted %s %s, which matches no request: %s", s, perm, scopeOf(scope), why),
		Risk:     "the rule does nothing; remove it or write what was meant",
	})
}

func nsName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// chain is the via chain of a grant: the binding's subject entry, then the
// role's rule (through aggregation when it came that way).
func (gr grant) chain() []report.Ref {
	return append([]report.Ref{gr.binding.ref(fmt.Sprintf("subjects[%d]", gr.subjectIdx))}, gr.via...)
}

// coverage returns the rules that reach s at scope: its own (when self is
// true) and those of the groups it is always in, plus, for a namespace,
// everything it holds cluster-wide.
func (g *Graph) coverage(s subject, scope string, self bool) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	who := supergroups(s)
	if self {
		who = append(who, s)
	}
	scopes := []string{""}
	if scope != "" {
		scopes = append(scopes, scope)
	}
	for _, w := range who {
		for _, sc := range scopes {
			for _, gr := range g.grants[w][sc] {
				out = append(out, gr.PolicyRule)
			}
		}
	}
	if !self && scope != "" {
		for _, gr := range g.grants[s][""] {
			out = append(out, gr.PolicyRule)
		}
	}
	return out
}

// atoms breaks a rule granted at scope into atomic permissions, as the
// escalation check does. Within namespace N, an unnamed grant on the
// namespace object itself can only ever reach the object N, so it is
// named N: then a base grant of "namespaces named N" covers it.
func atoms(r rbacv1.PolicyRule, scope string) []rbacv1.PolicyRule {
	out := validation.BreakdownRule(r)
	if scope == "" {
		return out
	}
	for i, a := range out {
		if len(a.ResourceNames) == 0 && len(a.APIGroups) == 1 && a.APIGroups[0] == "" && namespaceSelf(a.Resources[0], a.Verbs[0]) {
			out[i].ResourceNames = []string{scope}
		}
	}
	return out
}

// atom is an atomic permission of a rule and, if it matches no request,
// why not.
type atom struct {
	rbacv1.PolicyRule
	inert  string
	unreal bool // inert because the API server never asks it (see unreal)
}

// ruleAtoms breaks a rule granted at scope into atoms, each with the reason
// it is inert, if any. Unreal atoms (list on pods/log, impersonate on pods)
// are left out, since real rules are full of them, unless nothing of the
// rule is real: then they are kept as inert, so a rule that does nothing
// still gets its note.
func (g *Graph) ruleAtoms(r rbacv1.PolicyRule, scope string) []atom {
	all := atoms(r, scope)
	out := make([]atom, 0, len(all))
	real := false
	for _, a := range all {
		at := atom{PolicyRule: a, inert: g.inert(a, scope)}
		if at.inert == "" {
			at.inert = unreal(a, scope)
			at.unreal = at.inert != ""
		}
		real = real || at.inert == ""
		out = append(out, at)
	}
	if !real {
		return out
	}
	return slices.DeleteFunc(out, func(a atom) bool { return a.unreal })
}

// covers reports whether owner covers atom granted at scope, by the
// escalation check's own test. An impersonate atom is covered when all it
// can reach is (impersonationTargets): "impersonate */*" in a namespace
// is no more than "impersonate serviceaccounts" there.
func covers(owner []rbacv1.PolicyRule, atom rbacv1.PolicyRule, scope string) bool {
	servant := []rbacv1.PolicyRule{atom}
	if len(atom.Verbs) == 1 && atom.Verbs[0] == "impersonate" {
		if ts := impersonationTargets(atom, scope); len(ts) > 0 {
			servant = ts
		}
	}
	ok, _ := validation.Covers(owner, servant)
	return ok
}

func subsetByKey(a, b []grant) bool {
	if len(a) == 0 {
		return true
	}
	keys := make(map[string]bool, len(b))
	for _, g := range b {
		keys[g.key] = true
	}
	for _, g := range a {
		if !keys[g.key] {
			return false
		}
	}
	return true
}

// inert explains why an atom grants no real request at scope, or returns "".
func (g *Graph) inert(a rbacv1.PolicyRule, scope string) string {
	if len(a.NonResourceURLs) > 0 {
		if scope != "" {
			return "non-resource URLs are requested outside any namespace, so a RoleBinding cannot grant them"
		}
		return ""
	}
	res, group := a.Resources[0], a.APIGroups[0]
	if base, sub, ok := strings.Cut(res, "/"); ok && sub == "*" {
		return fmt.Sprintf("%q is not a wildcard: Kubernetes compares it literally, so it matches no subresource (use %q for every subresource of one kind only by listing them, or \"*\" for all resources)", res, base+"/<name>")
	}
	// A collection's create and deletecollection carry no name; "*" also
	// covers subresources (pods/exec), whose create names its parent.
	if len(a.ResourceNames) > 0 && (a.Verbs[0] == "deletecollection" || a.Verbs[0] == "create" && res != "*" && !strings.Contains(res, "/")) {
		return "a " + a.Verbs[0] + " request carries no object name, so a rule restricted by resourceNames never matches it"
	}
	if scope == "" || group == "*" {
		return ""
	}
	if group == "" && namespaceSelf(res, a.Verbs[0]) {
		if len(a.ResourceNames) == 0 || a.ResourceNames[0] == scope {
			return "" // the namespace object itself carries its own name as namespace
		}
		return fmt.Sprintf("a RoleBinding in %s only reaches the namespace object %s itself", scope, scope)
	}
	if g.ClusterScoped(group, res) && !bindInNamespace(group, res, a.Verbs[0]) {
		return fmt.Sprintf("%s is cluster-scoped, so a RoleBinding cannot grant it; only a ClusterRoleBinding can", groupResource(group, res))
	}
	return ""
}

// holdsInert reports whether base already granted s the same do-nothing
// atom, so that the note is not repeated on every pull request.
func (g *Graph) holdsInert(s subject, scope string, a rbacv1.PolicyRule) bool {
	k := ruleKey(a)
	for _, gr := range g.grants[s][scope] {
		for _, b := range validation.BreakdownRule(gr.PolicyRule) {
			if ruleKey(b) == k {
				return true
			}
		}
	}
	return false
}

func groupResource(group, res string) string {
	if group == "" {
		return res
	}
	return group + "/" + res
}

func permission(a rbacv1.PolicyRule) report.Permission {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return report.Permission{Verbs: nz(a.Verbs), APIGroups: nz(a.APIGroups), Resources: nz(a.Resources), ResourceNames: nz(a.ResourceNames), NonResourceURLs: nz(a.NonResourceURLs)}
}

func scopeOf(scope string) *report.Scope {
	if scope == "" {
		return &report.Scope{Cluster: true}
	}
	return &report.Scope{Namespace: scope}
}

func sortedSubjects(a, b *Graph) []subject {
	set := map[subject]bool{}
	for s := range a.grants {
		set[s] = true
	}
	for s := range b.grants {
		set[s] = true
	}
	return slices.SortedFunc(maps.Keys(set), func(x, y subject) int {
		return cmp.Or(strings.Compare(x.kind, y.kind), strings.Compare(x.namespace, y.namespace), strings.Compare(x.name, y.name))
	})
}

func sortedScopes(a, b map[string][]grant) []string {
	set := map[string]bool{}
	for s := range a {
		set[s] = true
	}
	for s := range b {
		set[s] = true
	}
	return slices.Sorted(maps.Keys(set))
}

func isBootstrapRole(name string) bool {
	for _, o := range bootstrap() {
		if o.Kind == "ClusterRole" && o.Name == name {
			return true
		}
	}
	return false
}
