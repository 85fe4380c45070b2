package checks

import (
	"bytes"
	"testing"

	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/report"
)

// driftReport is what rbacguard drift reports: one grant made by hand in
// the cluster, one the repository has not applied yet.
func driftReport() *report.Report {
	fs := []report.Finding{
		{
			Kind: report.DriftOutOfBand, Severity: report.High, Overlay: "overlays/prod",
			Subject: &report.Subject{Kind: "User", Name: "jane@example.com"}, Scope: &report.Scope{Cluster: true},
			Permission: perm("get", "", "configmaps"),
			Via: []report.Ref{{Kind: "ClusterRoleBinding", Name: "oncall-view", Field: "subjects[0]", Path: "export.yaml", Line: 103},
				{Kind: "ClusterRole", Name: "view", Field: "rules[0]"}},
			Location: report.Location{Path: "export.yaml", Line: 103},
			Message:  "User jane@example.com is bound to the built-in ClusterRole view cluster-wide in the cluster, but the repository does not bind it: 180 permissions, among them get configmaps",
			Risk:     "granted out of band (applied by hand or by another tool): remove it from the cluster, or add it to the repository so it is reviewed",
		},
		{
			Kind: report.DriftNotApplied, Severity: report.Info, Overlay: "overlays/prod",
			Subject: sa("shop", "checkout"), Scope: nsScope("shop"), Permission: perm("list", "", "secrets"),
			Via:      []report.Ref{{Kind: "RoleBinding", Namespace: "shop", Name: "checkout", Field: "subjects[0]", Path: "overlays/prod/rbac.yaml", Line: 22}},
			Location: report.Location{Path: "overlays/prod/rbac.yaml", Line: 9},
			Message:  "the repository grants ServiceAccount shop/checkout list secrets in namespace shop, but the cluster does not (not yet applied)",
			Risk:     "the cluster is behind the repository: apply it, or find out why the apply failed",
		},
		{
			Kind: report.DriftAdmission, Severity: report.High, Cause: "ValidatingAdmissionPolicyBinding/rbacguard-binding-cluster-admin",
			Location: report.Location{Path: "export.yaml", Line: 1138},
			Message:  "ValidatingAdmissionPolicyBinding rbacguard-binding-cluster-admin in the cluster differs from what the policy file exports (checks, actions or exemptions)",
			Risk:     "the cluster's admission gate is not the one the policy file says: run rbacguard export admission and apply it",
		},
	}
	for i := range fs {
		fs[i] = withID(fs[i])
	}
	r := &report.Report{
		Mode: "drift", Base: "overlays/prod", Head: "export.yaml",
		Overlays: []report.Overlay{{Path: "overlays/prod", Status: report.OverlayRendered}, {Path: "export.yaml", Status: report.OverlayRendered}},
		Findings: fs,
	}
	r.Finish(report.High)
	return r
}

var (
	exampleVia = []report.Ref{
		{Kind: "RoleBinding", Namespace: "shop", Name: "checkout", Field: "subjects[0]", Path: "rbac/checkout.yaml", Line: 22},
		{Kind: "Role", Namespace: "shop", Name: "checkout", Field: "rules[1]", Path: "rbac/checkout.yaml", Line: 9},
	}
	exampleRequest = query.Request{Verb: "get", Resource: "secrets", Namespace: "shop"}
	exampleID      = query.Identity{As: "system:serviceaccount:shop:checkout", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"}}
)

func whoCanAnswer() *query.WhoCanAnswer {
	return &query.WhoCanAnswer{Version: query.Version, Request: exampleRequest, Head: "main", Overlays: []query.WhoCanOverlay{
		{Path: "overlays/prod", Subjects: []query.Holder{
			{Subject: report.Subject{Kind: "ClusterRole", Name: "secret-reader"}, Ways: []query.Way{{Scope: report.Scope{Cluster: true},
				Via: []report.Ref{{Kind: "ClusterRole", Name: "secret-reader", Field: "rules[0]", Path: "rbac/reader.yaml", Line: 6}}}}},
			{Subject: report.Subject{Kind: "Group", Name: "system:masters"}, Builtin: true, Ways: []query.Way{{Scope: report.Scope{Cluster: true},
				Via: []report.Ref{{Kind: "ClusterRoleBinding", Name: "cluster-admin", Field: "subjects[0]"}, {Kind: "ClusterRole", Name: "cluster-admin", Field: "rules[0]"}}}}},
			{Subject: *sa("shop", "checkout"), Ways: []query.Way{{Scope: *nsScope("shop"), Via: exampleVia}},
				Workloads: []report.Workload{{Kind: "Deployment", Namespace: "shop", Name: "checkout"}}},
		}},
		{Path: "overlays/broken", Error: "render overlays/broken: kustomization.yaml:3: unknown field", Subjects: []query.Holder{}},
	}}
}

func canIAnswer() *query.CanIAnswer {
	return &query.CanIAnswer{Version: query.Version, Identity: exampleID, Request: exampleRequest, Head: "main", Overlays: []query.CanIOverlay{
		{Path: "overlays/prod", Allowed: true, Via: exampleVia},
		{Path: "overlays/staging", Unread: []string{"overlays/staging/rbac.yaml:4: document 2: mapping values are not allowed in this context"}},
	}}
}

func listAnswer() *query.ListAnswer {
	return &query.ListAnswer{Version: query.Version, Identity: exampleID, Head: "main", Overlays: []query.ListOverlay{
		{Path: "overlays/prod", Scopes: []query.ScopeRules{
			{Scope: report.Scope{Cluster: true}, Rules: []query.ListRule{
				{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}, Via: [][]report.Ref{exampleVia}},
			}},
			{Scope: *nsScope("shop"), Rules: []query.ListRule{
				{Resource: "configmaps", Verbs: []string{"get", "watch"}, Via: [][]report.Ref{exampleVia}},
				{Resource: "deployments.apps", ResourceNames: []string{"checkout"}, Verbs: []string{"patch"}, Via: [][]report.Ref{exampleVia}},
			}},
		}},
	}}
}

// TestQueryAnswers_Golden pins the three answers in every format.
func TestQueryAnswers_Golden(t *testing.T) {
	for _, f := range []struct {
		format QueryFormat
		ext    string
	}{{"text", "txt"}, {"markdown", "md"}, {"json", "json"}} {
		var b bytes.Buffer
		if err := WriteWhoCan(&b, whoCanAnswer(), f.format, QueryTextOptions{}); err != nil {
			t.Fatal(err)
		}
		golden(t, "whocan."+f.ext+".golden", b.Bytes())
		b.Reset()
		if err := WriteCanI(&b, canIAnswer(), f.format, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		golden(t, "cani."+f.ext+".golden", b.Bytes())
		b.Reset()
		if err := WriteList(&b, listAnswer(), f.format, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		golden(t, "canilist."+f.ext+".golden", b.Bytes())
	}
}

func TestQueryAnswers_Nil(t *testing.T) {
	var b bytes.Buffer
	if WriteWhoCan(&b, nil, "text", QueryTextOptions{}) == nil || WriteCanI(&b, nil, "text", TextOptions{}) == nil || WriteList(&b, nil, "text", TextOptions{}) == nil {
		t.Error("a nil answer must be an error")
	}
}
