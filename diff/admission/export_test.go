package admission_test

import (
	"bytes"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/rbacguard/rbacguard/diff/admission"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml")

var now = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

func parse(t *testing.T, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("rbacguard.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExport_Golden keeps the default policy's export in
// testdata/default.golden.yaml, for review: the CEL the cluster runs.
func TestExport_Golden(t *testing.T) {
	var b bytes.Buffer
	if err := admission.Export(nil, now).WriteYAML(&b, "rbacguard export admission (default policy)"); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/default.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("export differs (-want +got):\n%s\nrun with -update to accept", diff)
	}
}

// actions returns each exported policy's validation actions, by name.
func actions(s *admission.Set) map[string][]admissionv1.ValidationAction {
	out := map[string][]admissionv1.ValidationAction{}
	for _, b := range s.Bindings {
		out[b.Spec.PolicyName] = b.Spec.ValidationActions
	}
	return out
}

var (
	deny = []admissionv1.ValidationAction{admissionv1.Deny}
	warn = []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}
)

func TestExport_ActionsFollowTheGate(t *testing.T) {
	tests := []struct {
		name, policy string
		want         map[string][]admissionv1.ValidationAction
	}{
		{"default gate high", "failOn: high", map[string][]admissionv1.ValidationAction{
			"rbacguard-role-rules-critical": deny, "rbacguard-role-rules-high": deny, "rbacguard-role-rules-medium": warn,
			"rbacguard-binding-cluster-admin": deny, "rbacguard-secret-legacy-token": deny, "rbacguard-pod-default-token": warn,
		}},
		{"gate critical", "failOn: critical", map[string][]admissionv1.ValidationAction{
			"rbacguard-role-rules-critical": deny, "rbacguard-role-rules-high": warn, "rbacguard-secret-legacy-token": warn,
		}},
		{"gate none never denies", "failOn: none", map[string][]admissionv1.ValidationAction{
			"rbacguard-role-rules-critical": warn, "rbacguard-binding-cluster-admin": warn,
		}},
		{"severity rule raises a check to the gate", "failOn: high\nseverities:\n  - kind: token.automount\n    severity: high\n",
			map[string][]admissionv1.ValidationAction{"rbacguard-pod-default-token": deny}},
		{"severity rule moves one class of rules", "failOn: high\nseverities:\n  - permission: {verbs: [create], resources: [serviceaccounts/token]}\n    severity: medium\n",
			map[string][]admissionv1.ValidationAction{"rbacguard-role-rules-critical": deny, "rbacguard-role-rules-medium": warn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := actions(admission.Export(parse(t, tt.policy), now))
			for name, want := range tt.want {
				if !slices.Equal(got[name], want) {
					t.Errorf("%s: actions %v, want %v", name, got[name], want)
				}
			}
		})
	}
}

// TestExport_SeverityRuleMovesClass: the class a severity rule lowers
// leaves the critical policy's list and joins the medium one.
func TestExport_SeverityRuleMovesClass(t *testing.T) {
	expr := func(s *admission.Set, name string) string {
		for _, p := range s.Policies {
			if p.Name == name {
				return p.Spec.Validations[0].Expression
			}
		}
		t.Fatalf("no policy %s", name)
		return ""
	}
	def := admission.Export(nil, now)
	moved := admission.Export(parse(t, "severities:\n  - permission: {verbs: [create], resources: [serviceaccounts/token]}\n    severity: medium\n"), now)
	// The Role classes in order: full control 0, escalate 1, bind 2,
	// impersonate 3, kube-system Secrets 4, serviceaccounts/token 5, …
	if got := expr(def, "rbacguard-role-rules-critical"); !strings.Contains(got, "[0, 1, 2, 3, 4, 5]") {
		t.Fatalf("default critical classes: %s", got)
	}
	if got := expr(moved, "rbacguard-role-rules-critical"); !strings.Contains(got, "[0, 1, 2, 3, 4]") {
		t.Errorf("critical classes after the rule: %s, want token creation (5) gone", got)
	}
	if got := expr(moved, "rbacguard-role-rules-medium"); !strings.Contains(got, "[5, ") {
		t.Errorf("medium classes after the rule: %s, want token creation (5) in", got)
	}
}

func TestExport_Exemptions(t *testing.T) {
	s := admission.Export(parse(t, `exemptions:
  - subject: {kind: ServiceAccount, namespace: argocd, name: argo}
    reason: Argo CD
  - subject: {namespace: legacy}
    reason: old
    expires: 2026-01-31
  - overlay: overlays/dev
    reason: dev only
  - kind: token.legacy-secret
    reason: we still use them
  - workload: {namespace: batch}
    reason: sandboxed
allow:
  - {kind: Group, name: "platform:*"}
`), now)
	notes := s.Notes
	wantNotes := []string{
		"rbacguard.yaml:4: exemption expired on 2026-01-31: not exported",
		"rbacguard.yaml:7: exemption names an overlay, which admission cannot see: not exported, so the cluster denies what it exempts",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	by := map[string]admissionv1.ValidatingAdmissionPolicy{}
	binding := map[string]admissionv1.ValidatingAdmissionPolicyBinding{}
	for i, p := range s.Policies {
		by[p.Name], binding[p.Name] = p, s.Bindings[i]
	}
	if _, ok := by["rbacguard-secret-legacy-token"]; ok {
		t.Error("an exemption of every token.legacy-secret finding still exports the check")
	}
	conds := func(name string) []string {
		var out []string
		for _, c := range by[name].Spec.MatchConditions {
			out = append(out, c.Name)
		}
		return out
	}
	if got, want := conds("rbacguard-binding-cluster-admin"), []string{"rbacguard-exemption-line-2", "rbacguard-allow-line-14"}; !slices.Equal(got, want) {
		t.Errorf("cluster-admin matchConditions %v, want %v", got, want)
	}
	if got := conds("rbacguard-role-rules-critical"); len(got) != 0 {
		t.Errorf("a Role has no subject, but its policy has matchConditions %v", got)
	}
	ns := binding["rbacguard-pod-default-token"].Spec.MatchResources
	if ns == nil || ns.NamespaceSelector == nil || !slices.Equal(ns.NamespaceSelector.MatchExpressions[0].Values, []string{"batch"}) {
		t.Errorf("pod check: want namespace batch excluded by the binding's selector, got %+v", ns)
	}
	if a := by["rbacguard-binding-cluster-admin"].Annotations[admission.ExemptionsAnnotation]; !strings.Contains(a, "rbacguard.yaml:2 (Argo CD)") {
		t.Errorf("exemptions annotation %q does not name the exemption", a)
	}
}

func TestExport_NamesUnique(t *testing.T) {
	s := admission.Export(nil, now)
	seen := map[string]bool{}
	for i, p := range s.Policies {
		if seen[p.Name] {
			t.Errorf("%s twice", p.Name)
		}
		seen[p.Name] = true
		if s.Bindings[i].Spec.PolicyName != p.Name {
			t.Errorf("binding %d binds %s, want %s", i, s.Bindings[i].Spec.PolicyName, p.Name)
		}
		if p.Labels[admission.ManagedByLabel] != admission.ManagedBy {
			t.Errorf("%s lacks the managed-by label drift finds it by", p.Name)
		}
	}
	if n := admission.Checks()["ClusterRole"]; n < 10 {
		t.Errorf("Checks counts %d for ClusterRole: the severity table did not load", n)
	}
}

func TestDrift(t *testing.T) {
	want := admission.Export(nil, now)
	var b bytes.Buffer
	if err := want.WriteYAML(&b, ""); err != nil {
		t.Fatal(err)
	}
	same, errs := manifest.Decode("export.yaml", b.Bytes())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := admission.Drift(same, want); len(got) != 0 {
		t.Errorf("the export itself drifts: %v", got)
	}
	weakened := strings.Replace(b.String(), "  validationActions:\n  - Deny\n", "  validationActions:\n  - Warn\n", 1) + `---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: rbacguard-old, labels: {app.kubernetes.io/managed-by: rbacguard}}
spec: {validations: [{expression: "true"}]}
`
	objs, _ := manifest.Decode("export.yaml", []byte(weakened))
	var got []string
	for _, f := range admission.Drift(objs, want) {
		got = append(got, string(f.Severity)+" "+f.Message)
	}
	wantFindings := []string{
		"high ValidatingAdmissionPolicyBinding rbacguard-role-rules-critical in the cluster differs from what the policy file exports (checks, actions or exemptions)",
		"medium ValidatingAdmissionPolicy rbacguard-old is in the cluster but the policy file no longer exports it",
	}
	if diff := cmp.Diff(wantFindings, got); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
	if len(objs) == 0 || report.DriftAdmission == "" {
		t.Fatal("nothing decoded")
	}
}
