package report

import (
	"strings"
	"testing"
)

func atom(sev Severity, verb, group, resource, name string) Finding {
	p := Permission{Verbs: []string{verb}, APIGroups: []string{group}, Resources: []string{resource}, ResourceNames: []string{}, NonResourceURLs: []string{}}
	if name != "" {
		p.ResourceNames = []string{name}
	}
	if strings.HasPrefix(resource, "/") {
		p.APIGroups, p.Resources, p.NonResourceURLs = []string{}, []string{}, []string{resource}
	}
	return Finding{Severity: sev, Permission: &p}
}

// Rectangles never claims a grant no atom made: each block is a product
// of values all of whose atoms are members.
func TestRectangles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		atoms []Finding
		want  string
	}{
		{"verbs of one resource", []Finding{atom(Low, "watch", "", "endpoints", ""), atom(Low, "list", "", "services", ""), atom(Low, "list", "", "endpoints", "")},
			"list,watch endpoints; list services"},
		{"resources with the same verbs", []Finding{atom(Low, "get", "", "pods", ""), atom(Low, "get", "", "services", ""), atom(Low, "list", "", "pods", ""), atom(Low, "list", "", "services", "")},
			"get,list pods,services"},
		{"names of one rule", []Finding{
			atom(Medium, "patch", "apiextensions.k8s.io", "customresourcedefinitions/status", "a"),
			atom(High, "patch", "apiextensions.k8s.io", "customresourcedefinitions", "a"),
			atom(High, "update", "apiextensions.k8s.io", "customresourcedefinitions", "a"),
			atom(Medium, "update", "apiextensions.k8s.io", "customresourcedefinitions/status", "a"),
			atom(High, "patch", "apiextensions.k8s.io", "customresourcedefinitions", "b"),
			atom(High, "update", "apiextensions.k8s.io", "customresourcedefinitions", "b"),
			atom(Medium, "patch", "apiextensions.k8s.io", "customresourcedefinitions/status", "b"),
			atom(Medium, "update", "apiextensions.k8s.io", "customresourcedefinitions/status", "b"),
		}, "update,patch apiextensions.k8s.io/customresourcedefinitions,apiextensions.k8s.io/customresourcedefinitions/status named a,b"},
		{"named and unnamed stay apart", []Finding{atom(Low, "get", "", "configmaps", "x"), atom(Medium, "delete", "", "configmaps", "")},
			"delete configmaps; get configmaps named x"},
		{"urls", []Finding{atom(Low, "get", "", "/metrics", ""), atom(Low, "get", "", "/healthz", "")}, "get /metrics,/healthz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var parts []string
			for _, p := range Rectangles(tc.atoms) {
				parts = append(parts, p.String())
			}
			if got := strings.Join(parts, "; "); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
