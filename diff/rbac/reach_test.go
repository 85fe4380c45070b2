package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

const reachYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: pods
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  resourceNames: ["deployer"]
  verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ci-pods
  namespace: shop
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: pods
subjects:
- kind: ServiceAccount
  name: ci
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: all-sa-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: Group
  name: system:serviceaccounts:ops
`

func reachGraph(t *testing.T) *Graph {
	t.Helper()
	objs, errs := manifest.Decode("rbac.yaml", []byte(reachYAML))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return Build(objs, Options{Changed: func(path string, line int) bool { return line == 8 }})
}

func saUser(ns, name string) User {
	return User{Name: "system:serviceaccount:" + ns + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
}

// TestHolder_AgreesWithAllows: a Holder answers what Graph.Allows
// answers, for users with and without grants.
func TestHolder_AgreesWithAllows(t *testing.T) {
	g := reachGraph(t)
	users := []User{saUser("shop", "ci"), saUser("ops", "x"), saUser("other", "ci"), {Name: "alice", Groups: []string{"system:authenticated"}}}
	reqs := []Request{
		{ResourceRequest: true, Verb: "create", Resource: "pods", Namespace: "shop"},
		{ResourceRequest: true, Verb: "create", Resource: "pods", Namespace: "ops"},
		{ResourceRequest: true, Verb: "create", Resource: "pods"},
		{ResourceRequest: true, Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: "deployer", Namespace: "shop"},
		{ResourceRequest: true, Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: "other", Namespace: "shop"},
		{ResourceRequest: true, Verb: "*", APIGroup: "*", Resource: "*"},
		{Verb: "get", Path: "/healthz"},
	}
	for _, u := range users {
		h := g.Holder(u)
		for _, r := range reqs {
			if got, want := h.Allows(r), g.Allows(u, r); got != want {
				t.Errorf("%s %+v: Holder.Allows = %v, Graph.Allows = %v", u.Name, r, got, want)
			}
			if _, ok := h.Explain(r); ok != h.Allows(r) {
				t.Errorf("%s %+v: Explain ok = %v, Allows = %v", u.Name, r, ok, h.Allows(r))
			}
		}
	}
}

func TestHolder_ExplainPowerNamespaces(t *testing.T) {
	g := reachGraph(t)
	ci := g.Holder(saUser("shop", "ci"))
	if diff := cmp.Diff([]string{"shop"}, ci.Namespaces()); diff != "" {
		t.Errorf("Namespaces (-want +got):\n%s", diff)
	}
	tok := Request{ResourceRequest: true, Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: "other", Namespace: "shop"}
	if ci.Allows(tok) || !ci.MayAllowNamed(tok) {
		t.Errorf("token for another account: Allows %v (want false), MayAllowNamed %v (want true)", ci.Allows(tok), ci.MayAllowNamed(tok))
	}
	ev, ok := ci.Explain(Request{ResourceRequest: true, Verb: "create", Resource: "pods", Namespace: "shop"})
	want := report.Location{Path: "rbac.yaml", Line: 8} // the changed verb line
	if !ok || ev.Location != want || ev.Scope != (report.Scope{Namespace: "shop"}) || len(ev.Via) != 2 || ev.Permission.String() != "create pods" {
		t.Errorf("Explain = %+v, %v; want create pods in shop at %s through the binding and the rule", ev, ok, want)
	}
	if p, ok := ci.Power(); !ok || p.Severity != report.Critical || p.Permission.String() != "create serviceaccounts/token named deployer" {
		t.Errorf("Power = %+v, %v; want the critical token request", p, ok)
	}
	admin, _ := g.Holder(saUser("ops", "x")).Power()
	if admin.Severity != report.Critical || !admin.Scope.Cluster {
		t.Errorf("ops/x is cluster-admin through its group; Power = %+v", admin)
	}
	if _, ok := g.Holder(User{Name: "alice", Groups: []string{"system:authenticated"}}).Power(); ok {
		t.Error("alice holds only what every caller holds; Power should say so")
	}
	if diff := cmp.Diff([]string{"kube-public", "kube-system", "shop"}, g.Namespaces()); diff != "" {
		t.Errorf("Graph.Namespaces (-want +got):\n%s", diff)
	}
	var names []string
	for _, s := range g.Subjects(true) {
		names = append(names, s.String())
	}
	if diff := cmp.Diff([]string{"Group system:serviceaccounts:ops", "ServiceAccount shop/ci"}, names); diff != "" {
		t.Errorf("Subjects(true) (-want +got):\n%s", diff)
	}
	probes := NewProbes([]Request{{ResourceRequest: true, Verb: "create", Resource: "pods"}})
	if !ci.MayAllowAny(probes) || g.Holder(User{Name: "alice"}).MayAllowAny(probes) {
		t.Error("MayAllowAny: ci may create pods, alice may not")
	}
}
