package query

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

func objects(t *testing.T, name, yaml string) Overlay {
	t.Helper()
	objs, errs := manifest.Decode(name, []byte(yaml))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return Overlay{Path: ".", Objects: objs}
}

const repoYAML = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: checkout, namespace: shop}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: checkout, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: checkout}
subjects: [{kind: ServiceAccount, name: checkout}]
`

const clusterYAML = `
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata:
    name: system:basic-user
    annotations: {rbac.authorization.kubernetes.io/autoupdate: "true"}
    uid: 1
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:basic-user}
  subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:authenticated}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: oncall, resourceVersion: "9"}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
  subjects: [{kind: User, name: jane}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata: {name: debug, namespace: shop}
  rules: [{apiGroups: [""], resources: [pods/exec], verbs: [create]}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: debug, namespace: shop}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: debug}
  subjects: [{kind: ServiceAccount, name: checkout, namespace: shop}]
  status: {}
`

func TestDrift(t *testing.T) {
	got := Drift([]Overlay{objects(t, "export.yaml", clusterYAML)}, []Overlay{objects(t, "rbac.yaml", repoYAML)}, "overlays/prod", Options{})
	var lines []string
	for _, f := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s: %s", f.Severity, f.Kind, f.Location, f.Message))
	}
	want := []string{
		// The account gained exec by hand; its secret read was never applied.
		"high drift.out-of-band export.yaml:21: ServiceAccount shop/checkout can create pods/exec in namespace shop in the cluster, but the repository does not grant it",
		"info drift.not-applied rbac.yaml:5: the repository grants ServiceAccount shop/checkout get secrets in namespace shop, but the cluster does not (not yet applied)",
	}
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("missing %q in\n%s", w, strings.Join(lines, "\n"))
		}
	}
	jane := slices.IndexFunc(got, func(f report.Finding) bool { return f.Subject != nil && f.Subject.Name == "jane" })
	switch {
	case jane < 0:
		t.Errorf("jane's out-of-band view binding is not reported")
	case !strings.Contains(got[jane].Message, "is bound to the built-in ClusterRole view") || got[jane].Kind != report.DriftOutOfBand:
		t.Errorf("jane: want one finding for the binding to view, got %s %q", got[jane].Kind, got[jane].Message)
	}
	for _, f := range got {
		if f.Subject != nil && f.Subject.Name == "system:authenticated" {
			t.Errorf("the cluster's own system:basic-user binding is reported: %s", f.Message)
		}
		if f.Subject != nil && f.Subject.Name == "jane" && f.ID != got[jane].ID {
			t.Errorf("jane's binding to view is reported more than once: %s", f.Message)
		}
	}
}

func TestDrift_RenderErrorIsNotAPass(t *testing.T) {
	got := Drift([]Overlay{{Path: ".", Err: errors.New("boom")}}, []Overlay{objects(t, "rbac.yaml", repoYAML)}, "overlays/prod", Options{})
	if !slices.ContainsFunc(got, func(f report.Finding) bool { return f.Kind == report.RenderError && f.Severity == report.High }) {
		t.Errorf("a cluster overlay that did not render must be a high render.error, got %v", got)
	}
}

func TestNewlyCan(t *testing.T) {
	base := objects(t, "base.yaml", repoYAML)
	head := objects(t, "head.yaml", repoYAML+`
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: readers, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: checkout}
subjects:
- {kind: Group, name: "system:serviceaccounts:shop"}
- {kind: User, name: "system:serviceaccount:shop:checkout"}
`)
	r := Request{Verb: "get", Resource: "secrets", Namespace: "shop"}
	got := NewlyCan(&base, head, r, Options{})
	var who []string
	for _, h := range got.Subjects {
		who = append(who, h.Subject.String())
	}
	// checkout could already; the group is new; built-ins are old.
	if want := []string{"Group system:serviceaccounts:shop"}; !slices.Equal(who, want) {
		t.Errorf("newly = %v, want %v", who, want)
	}
	if all := NewlyCan(nil, head, r, Options{}); len(all.Subjects) <= 1 {
		t.Errorf("an overlay new at head: everyone who can is new, got %v", all.Subjects)
	}
}
