package rbac

import (
	"maps"
	"slices"

	"github.com/rbacguard/rbacguard/diff/report"
)

// BoundTo lists the rules that the repository's bindings give s by name
// (not through a group s is in), ClusterRoleBindings first, each with its
// scope and chain; diff/audit asks which of them a logged request used.
func (g *Graph) BoundTo(s report.Subject) []RuleGrant {
	subj := subject{kind: s.Kind, namespace: s.Namespace, name: s.Name}
	var out []RuleGrant
	for _, scope := range slices.Sorted(maps.Keys(g.grants[subj])) {
		for _, gr := range g.grants[subj][scope] {
			if !gr.binding.builtin {
				out = append(out, RuleGrant{Rule: gr.PolicyRule, Scope: scope, Via: gr.chain()})
			}
		}
	}
	return out
}
