package audit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

const usageTree = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ops
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {team: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ops-deploy
  labels: {team: ops}
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ops-nodes
  labels: {team: ops}
rules:
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ops
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ops}
subjects:
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ci
  namespace: shop
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
- {kind: ServiceAccount, name: ci, namespace: shop}
`

// Groups and aggregation follow the engine: a member of ops uses the
// rules aggregated into the role bound to ops; a RoleBinding's grant is
// used only by requests in its namespace; a built-in role's rules are
// the engine's.
func TestUsage_GroupsAndAggregation(t *testing.T) {
	g := rbac.Build(objects(t, "rbac.yaml", usageTree), rbac.Options{})
	us := NewUsage("o", g)
	bob := rbac.User{Name: "bob", Groups: []string{"ops", "system:authenticated"}}
	ci := rbac.User{Name: "system:serviceaccount:shop:ci", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"}}
	us.Observe(bob, rbac.Request{ResourceRequest: true, Verb: "patch", APIGroup: "apps", Resource: "deployments", Namespace: "web", Name: "api"}, false)
	us.Observe(ci, rbac.Request{ResourceRequest: true, Verb: "get", Resource: "configmaps", Namespace: "shop", Name: "c"}, false)
	us.Observe(ci, rbac.Request{ResourceRequest: true, Verb: "delete", Resource: "pods", Namespace: "other", Name: "p"}, false) // not in shop
	us.Observe(ci, rbac.Request{ResourceRequest: true, Verb: "list", Resource: "secrets", Namespace: "shop"}, true)

	w := Window{First: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	var ops, ciUnused []string
	for _, f := range us.Findings(w) {
		switch *f.Subject {
		case report.Subject{Kind: "Group", Name: "ops"}:
			ops = append(ops, f.Message)
		case report.Subject{Kind: "ServiceAccount", Namespace: "shop", Name: "ci"}:
			ciUnused = append(ciUnused, f.Message)
		}
	}
	wantOps := []string{
		"Group ops used part of get,patch apps/deployments; never get apps/deployments cluster-wide",
		"Group ops never used delete nodes cluster-wide",
	}
	if len(ops) != len(wantOps) {
		t.Fatalf("ops findings %q, want %q", ops, wantOps)
	}
	for i := range ops {
		if !strings.HasPrefix(ops[i], wantOps[i]) {
			t.Errorf("ops finding %q, want it to start %q", ops[i], wantOps[i])
		}
	}
	if !slices.ContainsFunc(ciUnused, func(m string) bool {
		return strings.HasPrefix(m, "ServiceAccount shop/ci used part of get,list,watch configmaps,endpoints,") && strings.Contains(m, "; never list configmaps, watch configmaps, get endpoints,")
	}) {
		t.Errorf("the read rule of edit was used for get configmaps in shop: want it reported as used in part, got %q", ciUnused)
	}
	if len(ciUnused) == 0 {
		t.Errorf("edit grants far more than ci used: want findings")
	}
	if d := us.Denials(); len(d) != 1 || d[0].Request != "list secrets in namespace shop" {
		t.Errorf("denials %+v, want list secrets in namespace shop", d)
	}
	var sug strings.Builder
	for _, s := range us.Suggestions() {
		if s.Subject.Name == "ci" {
			if err := s.WriteYAML(&sug); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, want := range []string{"kind: Role\n", "namespace: shop", `resources: ["configmaps"]`, `resourceNames: ["c"]`, `verbs: ["get"]`, "kind: RoleBinding", `resources: ["pods"]`} {
		if !strings.Contains(sug.String(), want) {
			t.Errorf("suggestion for ci lacks %q:\n%s", want, sug.String())
		}
	}
}
