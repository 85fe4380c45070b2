package escalation_test

import (
	"slices"
	"strings"
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

const kubeSystemJobs = `apiVersion: v1
kind: ServiceAccount
metadata: {name: ci, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ci, namespace: kube-system}
rules: [{apiGroups: [batch], resources: [jobs], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ci}
subjects: [{kind: ServiceAccount, name: ci, namespace: shop}]
`

func TestModel_ControllerAccounts(t *testing.T) {
	aggregator := escalation.Identity{Kind: "ServiceAccount", Namespace: "kube-system", Name: "clusterrole-aggregation-controller"}
	anyRole := escalation.Identity{Kind: "ClusterRole", Name: "cluster-admin"}
	m := model(t, kubeSystemJobs, escalation.Options{})
	reach := m.Reach(ci)
	if !slices.Contains(reach, aggregator) || !slices.Contains(reach, anyRole) {
		t.Errorf("by default, jobs in kube-system reach the controllers' accounts and, through the aggregator, any role; got %v", reach)
	}
	if slices.Contains(m.Starts(), aggregator) {
		t.Error("a controller account the repository does not bind is not a start: its grants are Kubernetes' own")
	}
	if fs := escalation.Scan("o", m); len(fs) != 1 || !strings.HasSuffix(fs[0].Message, "(if kube-system's controllers run as their own service accounts — policy controllerAccounts: kube-system)") {
		t.Errorf("Scan: want ci's one path to cluster-admin, saying the assumption it rests on; got %v", fs)
	}
	none := model(t, kubeSystemJobs, escalation.Options{ControllerAccounts: escalation.ControllerAccountsNone})
	if got := none.Reach(ci); len(got) != 0 {
		t.Errorf("controllerAccounts none: kube-system has no accounts the repository does not name, got %v", got)
	}
}
