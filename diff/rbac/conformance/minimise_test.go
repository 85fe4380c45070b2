package conformance

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
)

// objID names an object of a policy; rule or subject >= 0 name one entry
// of it.
type objID struct {
	kind, ns, name string
	rule, subject  int
	field          int // with rule >= 0: drop element elem of this field (1-5), or the whole rule (0)
	elem           int
}

// ruleFields are the lists of a rule, numbered from 1 for objID.field.
func ruleFields(r *rbacv1.PolicyRule) []*[]string {
	return []*[]string{&r.Verbs, &r.APIGroups, &r.Resources, &r.ResourceNames, &r.NonResourceURLs}
}

func ruleEntries(kind, ns, name string, rules []rbacv1.PolicyRule) []objID {
	var out []objID
	for j := range rules {
		out = append(out, objID{kind, ns, name, j, -1, 0, 0})
		for fi, f := range ruleFields(&rules[j]) {
			for k := range *f {
				out = append(out, objID{kind, ns, name, j, -1, fi + 1, k})
			}
		}
	}
	return out
}

func ids(p Policy) []objID {
	var out []objID
	for _, o := range p.ClusterRoleBindings {
		out = append(out, objID{"ClusterRoleBinding", "", o.Name, -1, -1, 0, 0})
		for j := range o.Subjects {
			out = append(out, objID{"ClusterRoleBinding", "", o.Name, -1, j, 0, 0})
		}
	}
	for _, o := range p.RoleBindings {
		out = append(out, objID{"RoleBinding", o.Namespace, o.Name, -1, -1, 0, 0})
		for j := range o.Subjects {
			out = append(out, objID{"RoleBinding", o.Namespace, o.Name, -1, j, 0, 0})
		}
	}
	for _, o := range p.ClusterRoles {
		out = append(out, objID{"ClusterRole", "", o.Name, -1, -1, 0, 0})
		out = append(out, ruleEntries("ClusterRole", "", o.Name, o.Rules)...)
	}
	for _, o := range p.Roles {
		out = append(out, objID{"Role", o.Namespace, o.Name, -1, -1, 0, 0})
		out = append(out, ruleEntries("Role", o.Namespace, o.Name, o.Rules)...)
	}
	return out
}

// without returns a copy of p without id (p itself if id is not there).
func without(p Policy, id objID) (Policy, bool) {
	q := p.deepCopy()
	found := false
	drop := func(kind, ns, name string, rules *[]rbacv1.PolicyRule, subjects *[]rbacv1.Subject) bool {
		if kind != id.kind || ns != id.ns || name != id.name {
			return false
		}
		switch {
		case id.rule >= 0 && id.field > 0:
			if rules != nil && id.rule < len(*rules) {
				f := ruleFields(&(*rules)[id.rule])[id.field-1]
				if id.elem < len(*f) {
					*f = slices.Delete(*f, id.elem, id.elem+1)
					found = true
				}
			}
			return false
		case id.rule >= 0:
			if rules != nil && id.rule < len(*rules) {
				*rules = slices.Delete(*rules, id.rule, id.rule+1)
				found = true
			}
			return false
		case id.subject >= 0:
			if subjects != nil && id.subject < len(*subjects) {
				*subjects = slices.Delete(*subjects, id.subject, id.subject+1)
				found = true
			}
			return false
		}
		found = true
		return true
	}
	q.ClusterRoles = slices.DeleteFunc(q.ClusterRoles, func(o *rbacv1.ClusterRole) bool {
		return drop("ClusterRole", "", o.Name, &o.Rules, nil)
	})
	q.Roles = slices.DeleteFunc(q.Roles, func(o *rbacv1.Role) bool { return drop("Role", o.Namespace, o.Name, &o.Rules, nil) })
	q.ClusterRoleBindings = slices.DeleteFunc(q.ClusterRoleBindings, func(o *rbacv1.ClusterRoleBinding) bool {
		return drop("ClusterRoleBinding", "", o.Name, nil, &o.Subjects)
	})
	q.RoleBindings = slices.DeleteFunc(q.RoleBindings, func(o *rbacv1.RoleBinding) bool {
		return drop("RoleBinding", o.Namespace, o.Name, nil, &o.Subjects)
	})
	return q, found
}

// minimise drops objects, rules and subjects of base and head, greedily,
// while fails still holds.
func minimise(base, head Policy, fails func(base, head Policy) bool) (Policy, Policy) {
	for changed := true; changed; {
		changed = false
		var all []objID
		seen := map[objID]bool{}
		for _, id := range append(ids(base), ids(head)...) {
			if !seen[id] {
				seen[id] = true
				all = append(all, id)
			}
		}
		// Whole objects first (entries with rule and subject -1 sort
		// first within an object), then entries, from the end so that
		// indexes stay valid.
		slices.Reverse(all)
		slices.SortStableFunc(all, func(a, b objID) int {
			wa, wb := a.rule < 0 && a.subject < 0 || a.field == 0 && a.rule >= 0, b.rule < 0 && b.subject < 0 || b.field == 0 && b.rule >= 0
			switch {
			case wa && !wb:
				return -1
			case wb && !wa:
				return 1
			}
			return 0
		})
		for _, id := range all {
			nb, inB := without(base, id)
			nh, inH := without(head, id)
			switch {
			case inB && inH && fails(nb, nh):
				base, head, changed = nb, nh, true
			case inH && fails(base, nh):
				head, changed = nh, true
			case inB && fails(nb, head):
				base, changed = nb, true
			}
		}
	}
	return base, head
}
