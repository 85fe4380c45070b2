package checks

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Answers are folded for people: these tests pin each folding, and that
// the JSON keeps what the text folds.

var masters = query.Holder{Subject: report.Subject{Kind: "Group", Name: "system:masters"}, Builtin: true,
	Ways: []query.Way{{Scope: report.Scope{Cluster: true}, Via: []report.Ref{{Kind: "ClusterRoleBinding", Name: "cluster-admin", Field: "subjects[0]"}}}}}

var flux = []report.SkippedInput{
	{Path: "manifests/bases/helm-controller/kustomization.yaml", Line: 4, What: "https://example.com/helm-controller.crds.yaml", Why: "would be fetched from the network"},
	{Path: "manifests/bases/helm-controller/kustomization.yaml", Line: 5, What: "https://example.com/helm-controller.deployment.yaml", Why: "would be fetched from the network"},
}

func write(t *testing.T, fn func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := fn(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteWhoCan_Folds(t *testing.T) {
	checkout := query.Holder{Subject: *sa("shop", "checkout"), Ways: []query.Way{{Scope: *nsScope("shop"), Via: exampleVia}}}
	a := &query.WhoCanAnswer{Request: exampleRequest, Head: "0123456789abcdef0123456789abcdef01234567", HeadName: "v1.0.0", Overlays: []query.WhoCanOverlay{
		{Path: "a", Subjects: []query.Holder{masters}},
		{Path: "b", Subjects: []query.Holder{masters}},
		{Path: "c", Subjects: []query.Holder{masters, checkout}},
		{Path: "d", Subjects: []query.Holder{masters}, Skipped: flux},
		{Path: "e", Subjects: []query.Holder{masters}, NamespaceUnset: &query.Landed{Objects: 3, Namespace: "default"}},
	}}
	text := write(t, func(b *bytes.Buffer) error { return WriteWhoCan(b, a, "text", QueryTextOptions{}) })
	for _, want := range []string{
		"rbacguard who can get secrets in namespace shop, at v1.0.0 (0123456)\n",
		"built in: Kubernetes' own bootstrap bindings",
		"the same in 3 overlays: a, b, e\n  nobody but the built-ins\n",
		"overlay c\n  ServiceAccount shop/checkout\n",
		"overlay d\n  nobody but the built-ins — 2 inputs of d were not checked\n    not checked: https://example.com/helm-controller.crds.yaml (manifests/bases/helm-controller/kustomization.yaml:4)",
		"note: 1 overlay holds nothing in namespace shop: it names no namespace, so its objects landed in default; if it is deployed to shop, ask again with --default-namespace shop\n    e\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "system:masters"); n != 1 {
		t.Errorf("system:masters printed %d times, want once:\n%s", n, text)
	}
	shown := write(t, func(b *bytes.Buffer) error { return WriteWhoCan(b, a, "text", QueryTextOptions{ShowBuiltins: true}) })
	if n := strings.Count(shown, "Group system:masters (built in)"); n != 3 { // a, b and e still fold into one
		t.Errorf("--show-builtins: system:masters in %d answers, want 3:\n%s", n, shown)
	}
	var back query.WhoCanAnswer
	if err := json.Unmarshal([]byte(write(t, func(b *bytes.Buffer) error { return WriteWhoCan(b, a, "json", QueryTextOptions{}) })), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Overlays) != 5 || len(back.Overlays[0].Subjects) != 1 || len(back.Overlays[3].Skipped) != 2 || back.Overlays[4].NamespaceUnset == nil {
		t.Errorf("the JSON must keep every overlay, built-in, skipped input and note: %+v", back)
	}
}

func TestWriteWhoCan_NobodyNewlyOnce(t *testing.T) {
	a := &query.WhoCanAnswer{Request: exampleRequest, Base: "main", Head: "HEAD", Unchanged: 7,
		Overlays: []query.WhoCanOverlay{{Path: "a", Subjects: []query.Holder{}}, {Path: "b", Subjects: []query.Holder{}}}}
	text := write(t, func(b *bytes.Buffer) error { return WriteWhoCan(b, a, "text", QueryTextOptions{}) })
	want := "rbacguard who newly can get secrets in namespace shop, from main to HEAD\n\n  nobody newly can: 2 overlays changed, 7 overlays unchanged (not asked: nothing in them is new)\n"
	if text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
}

func TestWriteCanI_GroupsAndSaysPartial(t *testing.T) {
	a := &query.CanIAnswer{Identity: exampleID, Request: exampleRequest, Overlays: []query.CanIOverlay{
		{Path: "a"}, {Path: "b"}, {Path: "manifests/install", Skipped: flux}, {Path: "c", Allowed: true, Via: exampleVia},
	}}
	text := write(t, func(b *bytes.Buffer) error { return WriteCanI(b, a, "text", TextOptions{}) })
	for _, want := range []string{
		"  in 2 overlays: a, b: no\n",
		"  manifests/install: no — 2 inputs of manifests/install were not checked\n    not checked: ",
		"  c: yes\n    via RoleBinding shop/checkout",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestWriteText_DriftFoldsByBinding(t *testing.T) {
	var fs []report.Finding
	for _, p := range []*report.Permission{perm("get", "", "secrets"), perm("list", "", "pods"), perm("create", "", "pods/exec")} {
		fs = append(fs, withID(report.Finding{
			Kind: report.DriftNotApplied, Severity: report.Info, Overlay: ".",
			Subject: &report.Subject{Kind: "Group", Name: "shop-developers"}, Scope: nsScope("shop"), Permission: p,
			Via: []report.Ref{{Kind: "RoleBinding", Namespace: "shop", Name: "shop-developers", Field: "subjects[0]", Path: "rbac/developers.yaml", Line: 11},
				{Kind: "ClusterRole", Name: "edit", Field: "rules[" + p.Resources[0] + "]"}},
			Location: report.Location{Path: "rbac/edit.yaml", Line: 3},
			Message:  "the repository grants Group shop-developers " + p.String() + " in namespace shop, but the cluster does not (not yet applied)",
		}))
	}
	r := &report.Report{Mode: "drift", Base: ".", Head: "export.yaml", Findings: fs}
	r.Finish(report.High)
	text := write(t, func(b *bytes.Buffer) error { return WriteText(b, r, TextOptions{}) })
	want := "RoleBinding shop/shop-developers is not applied (Group shop-developers): 3 permissions of ClusterRole edit in namespace shop"
	if !strings.Contains(text, want) || strings.Count(text, "drift.not-applied") != 1 {
		t.Errorf("want one line %q:\n%s", want, text)
	}
	if !strings.Contains(text, "at rbac/developers.yaml:11") {
		t.Errorf("a folded drift line points at the binding:\n%s", text)
	}
	var back report.Report
	if err := json.Unmarshal([]byte(write(t, func(b *bytes.Buffer) error { return WriteJSON(b, r) })), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != 3 {
		t.Errorf("the JSON keeps every permission: %d findings, want 3", len(back.Findings))
	}
}
