package rbac

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbacguard/rbacguard/diff/report"
)

// AccountRisk summarises what a service account can do through the
// repository's own bindings (to it or to a group it is always in): the
// highest severity among its permissions and the permission behind it,
// e.g. "can get secrets in namespace shop". Built-in bindings, which give
// every caller the same discovery rights, do not count. An account the
// repository grants nothing answers "", "".
func (g *Graph) AccountRisk(namespace, name string) (report.Severity, string) {
	sa := subject{kind: "ServiceAccount", namespace: namespace, name: name}
	var best report.Severity
	var what string
	for _, s := range append([]subject{sa}, supergroups(sa)...) {
		for _, scope := range slices.Sorted(maps.Keys(g.grants[s])) {
			for _, gr := range g.grants[s][scope] {
				if gr.binding.builtin {
					continue
				}
				for _, a := range validation.BreakdownRule(gr.PolicyRule) {
					if g.inert(a, scope) != "" {
						continue
					}
					sev, _ := classify(sa, scope, a)
					if sev.Rank() > best.Rank() {
						best, what = sev, fmt.Sprintf("can %s %s", permission(a), scopeOf(scope))
					}
				}
			}
		}
	}
	return best, what
}
