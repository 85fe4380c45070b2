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

func TestMergeAcrossOverlays(t *testing.T) {
	f := atom(High, "create", "", "secrets", "")
	f.Kind, f.Subject, f.Location = RBACIncrease, &Subject{Kind: "ServiceAccount", Namespace: "a", Name: "b"}, Location{Path: "base/rbac.yaml", Line: 9}
	in := func(overlay string, sev Severity) Finding {
		g := f
		g.Overlay, g.Severity, g.ID = overlay, sev, ID(g.Kind, overlay)
		return g
	}
	got := MergeAcrossOverlays([]Finding{in("prod", High), in("staging", High), in("dev", Low), in("qa", High)})
	if len(got) != 2 {
		t.Fatalf("got %d findings, want 2 (a different severity stays apart): %+v", len(got), got)
	}
	if got[0].Overlay != "prod" || strings.Join(got[0].AlsoIn, ",") != "staging,qa" {
		t.Errorf("first = %s also in %v, want prod also in staging,qa", got[0].Overlay, got[0].AlsoIn)
	}
}

func TestGroupByRuleLocation(t *testing.T) {
	mk := func(verb string, line int) Finding {
		f := atom(Low, verb, "", "pods", "")
		f.Kind, f.Overlay, f.Subject, f.Scope = RBACIncrease, ".", &Subject{Kind: "ServiceAccount", Namespace: "a", Name: "b"}, &Scope{Namespace: "a"}
		f.Via = []Ref{{Kind: "Role", Namespace: "a", Name: "r", Field: "rules[0]", Path: "rbac.yaml", Line: 5}}
		f.Location = Location{Path: "rbac.yaml", Line: line}
		return f
	}
	changed := func(path string, line int) bool { return line == 9 }
	got := GroupByRule([]Finding{mk("get", 8), mk("watch", 9), mk("list", 10)}, changed)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	if got[0].Location.Line != 9 || got[0].Permission.String() != "get,list,watch pods" {
		t.Errorf("got %s at %v, want get,list,watch pods at the changed line 9", got[0].Permission, got[0].Location)
	}
}
