package rbac

import (
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

// location picks the line a reviewer should look at for atom a granted by
// rule r through binding b (nil for role-level findings): the most specific
// line the pull request changed among the verb, resource, group and name
// of the rule, the rule, the aggregation label, the binding's subject, its
// roleRef and its kind; without a changed line, the most specific line the
// repository has.
func (g *Graph) location(r rule, b *binding, subjectIdx int, a rbacv1.PolicyRule) report.Location {
	var cands []manifest.Location
	if r.obj != nil {
		item := func(field string, values []string, want []string) {
			if len(want) == 0 {
				return
			}
			if i := slices.Index(values, want[0]); i >= 0 {
				cands = append(cands, r.obj.LineOf("rules", r.index, field, i))
			}
		}
		item("verbs", r.Verbs, a.Verbs)
		item("resources", r.Resources, a.Resources)
		item("nonResourceURLs", r.NonResourceURLs, a.NonResourceURLs)
		item("resourceNames", r.ResourceNames, a.ResourceNames)
		item("apiGroups", r.APIGroups, a.APIGroups)
		cands = append(cands, r.obj.LineOf("rules", r.index))
	}
	if r.label != "" {
		for _, ref := range r.via {
			if ref.Field == r.label && ref.Path != "" {
				cands = append(cands, manifest.Location{Path: ref.Path, Line: ref.Line})
			}
		}
	}
	if b != nil && b.obj != nil {
		cands = append(cands,
			lineOfField(b.obj, fmt.Sprintf("subjects[%d]", subjectIdx)),
			b.obj.LineOf("roleRef", "name"),
			b.obj.LineOf("kind"),
			b.obj.LineOf("metadata", "namespace"))
	}
	if g.changed != nil {
		for _, c := range cands {
			if c.Path != "" && c.Line > 0 && g.changed(c.Path, c.Line) {
				return report.Location{Path: c.Path, Line: c.Line}
			}
		}
	}
	for _, c := range cands {
		if c.Path != "" {
			return report.Location{Path: c.Path, Line: c.Line}
		}
	}
	return report.Location{}
}
