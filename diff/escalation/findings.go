package escalation

import (
	"fmt"
	"slices"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Compare reports, for every subject of head, each identity it can become
// at head and could not at base: one rbac.escalation finding per subject
// and identity, at the severity of the identity's most severe permission,
// located on the changed line that opened the first step base did not
// have. An identity is not reported when becoming it gives nothing (it
// holds only what every caller holds, or nothing the subject does not
// already hold at that level), nor for a subject when a group it is
// always in reaches it too: that finding is the group's. A subject that
// can newly become an identity holding everything cluster-wide gets that
// one finding only: everything else is part of it. A path every grant of
// which is the built-in policy's, from an account of that policy (a
// controller of kube-system the repository binds), is Kubernetes' own and
// not reported.
//
// Besides the subjects of the repository, the ClusterRoles whose rules the
// change extends while their holders are outside the repository (built-in
// roles grown by aggregation labels, roles no binding of the tree uses)
// are followed, as "everyone bound to" them, cluster-wide.
func Compare(overlay string, base, head *Model) []report.Finding {
	return compare(overlay, base, head, true)
}

// Scan reports, for every subject of m, each identity it can become that
// is more powerful than itself, as Compare would from a tree holding
// nothing but Kubernetes' built-in policy: the same identities left out,
// the same folding into one finding for a subject that can become one
// holding everything cluster-wide.
func Scan(overlay string, m *Model) []report.Finding {
	o := m.o
	o.Changed = nil
	bare := Build(rbac.Build(nil, rbac.Options{DefaultNamespace: o.DefaultNamespace}), nil, o)
	return compare(overlay, bare, m, false)
}

func compare(overlay string, base, head *Model, diff bool) []report.Finding {
	var out []report.Finding
	head.init()
	starts := slices.Clone(head.starts)
	for _, name := range rbac.ChangedRoles(base.g, head.g) {
		id := Identity{"ClusterRole", "", name}
		if name != anyRole {
			starts = append(starts, head.add(id))
		}
	}
	for _, s := range starts {
		sn := head.nodes[s]
		if head.isAdmin(s) {
			continue // holds everything already
		}
		w := head.walk(s)
		if len(w.order) < 2 {
			continue
		}
		var before map[Identity]bool
		var found []report.Finding
		for _, t := range w.order[1:] {
			tn := head.nodes[t]
			pw, ok := head.power(t)
			if !ok || holds(head.decider(s), pw) {
				continue
			}
			if before == nil {
				before = base.reachSet(sn.id)
			}
			if before[tn.id] || head.groupReaches(sn.id, tn.id) {
				continue
			}
			f, own := head.finding(overlay, base, w, s, t, pw, diff)
			if own && sn.id.Kind != "ClusterRole" {
				continue // Kubernetes' own path, from its own account
			}
			if head.isAdmin(t) {
				// Becoming cluster-admin says all: the rest is part of it.
				found = []report.Finding{f}
				break
			}
			found = append(found, f)
		}
		out = append(out, found...)
	}
	return out
}

// groupReaches reports whether a group every member of id is in can become
// to as well.
func (m *Model) groupReaches(id, to Identity) bool {
	for _, g := range supergroups(id) {
		if _, ok := m.index[g]; ok && m.reachSet(g)[to] {
			return true
		}
	}
	return false
}

// finding describes the path w takes from s to t. In a diff (base set),
// its location is a line of the first step base did not have: the
// changed line among that step's grants, else the changed line that gave
// t its power, else the step's first grant.
//
// builtin is set when every grant of the path is the built-in policy's.
func (m *Model) finding(overlay string, base *Model, w walk, s, t int, pw rbac.Power, diff bool) (f report.Finding, builtin bool) {
	steps := m.steps(w, t)
	path, locs, builtin := m.pathSteps(steps)
	first := 0
	if base != nil {
		for k, st := range steps {
			if !base.hasStep(st.From, st.To) {
				first = k
				break
			}
		}
	}
	var cands []report.Location
	cands = append(cands, locs[first]...)
	cands = append(cands, pw.Location)
	loc := report.Location{}
	for _, c := range cands {
		if c.Path != "" && m.o.Changed != nil && m.o.Changed(c.Path, c.Line) {
			loc = c
			break
		}
	}
	if loc.Path == "" {
		for _, c := range cands {
			if c.Path != "" {
				loc = c
				break
			}
		}
	}
	var via []report.Ref
	if len(path[first].Grants) > 0 {
		via = path[first].Grants[0].Via
	}
	from, to := m.nodes[s].id, m.nodes[t].id
	verb := "can become"
	if diff {
		verb = "can now become"
	}
	subj := from.Subject()
	scope := pw.Scope
	perm := pw.Permission
	msg := fmt.Sprintf("%s %s %s: %s", describe(from), verb, describe(to), oneLine(steps, pw))
	for _, a := range m.assumptions(steps) {
		msg += " (" + a + ")"
	}
	f = report.Finding{
		Kind:       report.RBACEscalation,
		Severity:   pw.Severity,
		Overlay:    overlay,
		Subject:    &subj,
		Scope:      &scope,
		Permission: &perm,
		Via:        via,
		Location:   loc,
		Path:       path,
		Message:    msg,
		Risk:       fmt.Sprintf("%s holds %s: %s", to, powerString(pw), pw.Risk),
	}
	f.ID = report.ID(f.Kind, overlay, subj, to.Subject())
	return f, builtin
}
