package escalation

import (
	"strings"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// walk is a breadth-first search from one node: the nodes it reaches in
// order (the start first) and how each was first reached, so that every
// path it gives is a shortest one.
type walk struct {
	order []int
	from  map[int]hop
}

type hop struct {
	node int // the node the step leaves
	edge int // index into its edges
}

func (m *Model) walk(start int) walk {
	w := walk{order: []int{start}, from: map[int]hop{start: {-1, -1}}}
	for k := 0; k < len(w.order); k++ {
		i := w.order[k]
		for e, ed := range m.expand(i) {
			for _, t := range ed.to {
				if _, seen := w.from[t]; !seen {
					w.from[t] = hop{i, e}
					w.order = append(w.order, t)
				}
			}
		}
	}
	return w
}

// Identities lists every identity the model knows.
func (m *Model) Identities() []Identity {
	m.init()
	out := make([]Identity, len(m.nodes))
	for i, n := range m.nodes {
		out[i] = n.id
	}
	return out
}

// Starts lists the subjects whose paths are reported: those the
// repository's bindings name, and its service accounts.
func (m *Model) Starts() []Identity {
	m.init()
	out := make([]Identity, len(m.starts))
	for i, s := range m.starts {
		out[i] = m.nodes[s].id
	}
	return out
}

// Reach returns the identities from can become, in breadth-first order
// (from itself excluded); nil when the model does not know from (every
// ClusterRole identity is known). Identities
// that hold everything cluster-wide end a path: nothing lies beyond them.
func (m *Model) Reach(from Identity) []Identity {
	m.init()
	i, ok := m.index[from]
	if !ok && from.Kind == "ClusterRole" {
		// Everyone bound to a role, or any role: known in every revision.
		i, ok = m.add(from), true
	}
	if !ok {
		return nil
	}
	w := m.walk(i)
	out := make([]Identity, 0, len(w.order)-1)
	for _, t := range w.order[1:] {
		out = append(out, m.nodes[t].id)
	}
	return out
}

// Namespaces lists the namespaces where the model looks for "any role":
// those with accounts or RoleBindings.
func (m *Model) Namespaces() []string {
	m.init()
	return m.allNS
}

// Admin reports whether id holds everything cluster-wide.
func (m *Model) Admin(id Identity) bool {
	m.init()
	i, ok := m.index[id]
	return ok && m.isAdmin(i)
}

// Step is one step of a path, as Path returns it.
type Step struct {
	From, To  Identity
	Primitive string
	// Requests are what the step asks of the API server, each allowed
	// to From by the RBAC engine.
	Requests []rbac.Request
}

// Path returns a shortest path from one identity to another, or nil.
func (m *Model) Path(from, to Identity) []Step {
	m.init()
	i, ok1 := m.index[from]
	j, ok2 := m.index[to]
	if !ok1 || !ok2 || i == j {
		return nil
	}
	w := m.walk(i)
	if _, ok := w.from[j]; !ok {
		return nil
	}
	return m.steps(w, j)
}

func (m *Model) steps(w walk, t int) []Step {
	var out []Step
	for t >= 0 {
		h := w.from[t]
		if h.node < 0 {
			break
		}
		ed := m.nodes[h.node].edges[h.edge]
		out = append(out, Step{From: m.nodes[h.node].id, To: m.nodes[t].id, Primitive: ed.prim, Requests: ed.reqs})
		t = h.node
	}
	for a, b := 0, len(out)-1; a < b; a, b = a+1, b-1 {
		out[a], out[b] = out[b], out[a]
	}
	return out
}

// reachSet is the set of identities from reaches, cached.
func (m *Model) reachSet(from Identity) map[Identity]bool {
	m.init()
	if s, ok := m.reached[from]; ok {
		return s
	}
	s := map[Identity]bool{}
	for _, id := range m.Reach(from) {
		s[id] = true
	}
	if m.reached == nil {
		m.reached = map[Identity]map[Identity]bool{}
	}
	m.reached[from] = s
	return s
}

// hasStep reports whether from can become to in one step.
func (m *Model) hasStep(from, to Identity) bool {
	m.init()
	i, ok1 := m.index[from]
	j, ok2 := m.index[to]
	if !ok1 || !ok2 {
		return false
	}
	for _, ed := range m.expand(i) {
		for _, t := range ed.to {
			if t == j {
				return true
			}
		}
	}
	return false
}

// holds reports whether c may already do the permission p describes, so
// that becoming its holder gives nothing new at that level.
func holds(c decider, p rbac.Power) bool {
	perm := p.Permission
	if len(perm.Verbs) == 0 {
		return false
	}
	if len(perm.NonResourceURLs) > 0 {
		return c.Allows(rbac.Request{Verb: perm.Verbs[0], Path: perm.NonResourceURLs[0]})
	}
	if len(perm.APIGroups) == 0 || len(perm.Resources) == 0 {
		return false
	}
	res, sub, _ := strings.Cut(perm.Resources[0], "/")
	r := req(perm.Verbs[0], perm.APIGroups[0], res, sub, p.Scope.Namespace, "")
	if len(perm.ResourceNames) > 0 {
		r.Name = perm.ResourceNames[0]
	}
	return c.Allows(r)
}

// describe names an identity in a sentence.
func describe(id Identity) string {
	if id.Kind == "ClusterRole" && id.Name != anyRole {
		return "everyone bound to ClusterRole " + id.Name
	}
	if id.Kind == "ClusterRole" {
		if id.Namespace == "" {
			return "cluster-admin (any role, cluster-wide)"
		}
		return "cluster-admin in namespace " + id.Namespace + " (any role there)"
	}
	return id.Subject().String()
}

// oneLine reads "shop/ci → create pods in shop → shop/deployer → cluster-admin".
func oneLine(steps []Step, p rbac.Power) string {
	var b strings.Builder
	for k, st := range steps {
		if k == 0 {
			b.WriteString(st.From.String())
		}
		b.WriteString(" → " + st.Primitive + " → " + st.To.String())
	}
	last := steps[len(steps)-1].To
	if last.Kind != "ClusterRole" && !(last.Kind == "Group" && last.Name == groupMasters) {
		b.WriteString(" → " + powerString(p))
	}
	return b.String()
}

func powerString(p rbac.Power) string {
	perm := p.Permission
	if len(perm.NonResourceURLs) == 0 && strings.Join(perm.Verbs, ",") == "*" && strings.Join(perm.APIGroups, ",") == "*" &&
		strings.Join(perm.Resources, ",") == "*" && len(perm.ResourceNames) == 0 {
		if p.Scope.Cluster {
			return "cluster-admin"
		}
		return "admin of namespace " + p.Scope.Namespace
	}
	return perm.String() + " " + p.Scope.String()
}

// pathSteps turns steps into the report's form, each grant explained by
// the engine, and returns the locations of each step's grants and whether
// every grant is the built-in policy's (the path is Kubernetes' own).
func (m *Model) pathSteps(steps []Step) ([]report.PathStep, [][]report.Location, bool) {
	out := make([]report.PathStep, len(steps))
	locs := make([][]report.Location, len(steps))
	builtin := true
	for k, st := range steps {
		ps := report.PathStep{From: st.From.Subject(), Primitive: st.Primitive, To: st.To.Subject()}
		c := m.decider(m.index[st.From])
		for _, r := range st.Requests {
			ev, ok := c.Explain(r)
			if !ok {
				continue // cannot happen: every request of a step was allowed
			}
			ps.Grants = append(ps.Grants, report.PathGrant{Permission: ev.Permission, Scope: ev.Scope, Via: ev.Via})
			locs[k] = append(locs[k], ev.Location)
			builtin = builtin && ev.Builtin
		}
		out[k] = ps
	}
	return out, locs, builtin
}
