package escalation_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/escalation"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
)

const shop = `apiVersion: v1
kind: ServiceAccount
metadata: {name: ci, namespace: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: shop}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ci, namespace: shop}
rules: [{apiGroups: [""], resources: [pods], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ci}
subjects: [{kind: ServiceAccount, name: ci}]
`

func model(t *testing.T, yaml string, o escalation.Options) *escalation.Model {
	t.Helper()
	objs, errs := manifest.Decode("shop.yaml", []byte(yaml))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return escalation.Build(rbac.Build(objs, rbac.Options{}), objs, o)
}

var (
	ci       = escalation.Identity{Kind: "ServiceAccount", Namespace: "shop", Name: "ci"}
	deployer = escalation.Identity{Kind: "ServiceAccount", Namespace: "shop", Name: "deployer"}
)

func TestModel_ReachAndPath(t *testing.T) {
	m := model(t, shop, escalation.Options{})
	if diff := cmp.Diff([]escalation.Identity{deployer}, m.Reach(ci)); diff != "" {
		t.Errorf("Reach(ci) (-want +got):\n%s", diff)
	}
	if got := m.Reach(deployer); len(got) != 0 {
		t.Errorf("deployer holds everything: nothing lies beyond it, got %v", got)
	}
	if !m.Admin(deployer) || m.Admin(ci) {
		t.Errorf("Admin: deployer %v (want true), ci %v (want false)", m.Admin(deployer), m.Admin(ci))
	}
	path := m.Path(ci, deployer)
	if len(path) != 1 || path[0].Primitive != "create pods in shop" || path[0].From != ci || path[0].To != deployer || len(path[0].Requests) != 1 {
		t.Fatalf("Path(ci, deployer) = %+v, want one step: create pods in shop", path)
	}
	if r := path[0].Requests[0]; r.Verb != "create" || r.Resource != "pods" || r.Namespace != "shop" {
		t.Errorf("the step's request is %+v, want create pods in shop", r)
	}
	if m.Path(deployer, ci) != nil {
		t.Error("Path from deployer: it is not expanded, so there is none")
	}
	if diff := cmp.Diff([]escalation.Identity{deployer, ci}, m.Starts()); diff != "" { // in the order of their bindings
		t.Errorf("Starts (-want +got):\n%s", diff)
	}
}

func TestCompare_NewPathOnly(t *testing.T) {
	base := model(t, shop, escalation.Options{})
	head := model(t, shop, escalation.Options{})
	if fs := escalation.Compare("o", base, head); len(fs) != 0 {
		t.Errorf("the same tree twice: want no finding, got %v", fs)
	}
	empty := model(t, "", escalation.Options{})
	fs := escalation.Compare("o", empty, head)
	if len(fs) != 1 {
		t.Fatalf("want one finding (ci becomes deployer), got %d: %v", len(fs), fs)
	}
	f := fs[0]
	want := "ServiceAccount shop/ci can now become ServiceAccount shop/deployer: shop/ci → create pods in shop → shop/deployer → cluster-admin"
	if f.Message != want || f.Severity != "critical" || len(f.Path) != 1 || len(f.Path[0].Grants) != 1 || len(f.Path[0].Grants[0].Via) != 2 {
		t.Errorf("finding = %+v\nwant message %q, critical, one step with its grant and via chain", f, want)
	}
	if fs := escalation.Scan("o", head); len(fs) != 1 || fs[0].Subject.Name != "ci" {
		t.Errorf("Scan: want ci's path to cluster-admin, got %v", fs)
	}
}
