package conformance

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/kubernetes/test/integration/etcd"

	"github.com/rbacguard/rbacguard/diff/rbac"
)

// virtualScopes are built-in resources that are never stored, so the etcd
// data has no path for them; their scope follows from their REST handlers.
var virtualScopes = map[string]bool{
	"authentication.k8s.io/tokenreviews":             true,
	"authentication.k8s.io/selfsubjectreviews":       true,
	"authorization.k8s.io/subjectaccessreviews":      true,
	"authorization.k8s.io/selfsubjectaccessreviews":  true,
	"authorization.k8s.io/selfsubjectrulesreviews":   true,
	"authorization.k8s.io/localsubjectaccessreviews": false,
	"/users":                           true, // impersonation
	"/groups":                          true,
	"/serviceaccounts":                 false,
	"authentication.k8s.io/uids":       true, // impersonation, never namespaced
	"authentication.k8s.io/userextras": true,
	"/componentstatuses":               true,
	"/bindings":                        false,
	"policy/evictions":                 false,
}

// upstreamScopes maps group/resource of every built-in resource to whether
// it is cluster-scoped, from the API server's own integration-test storage
// data: a namespaced object is stored under its namespace in etcd.
var upstreamScopes = sync.OnceValue(func() map[string]bool {
	const ns = "etcdstoragepathtestnamespace"
	out := map[string]bool{}
	for gvr, d := range etcd.GetEtcdStorageDataForNamespace(ns) {
		// The test's own CustomResourceDefinitions (*.com) are not built in.
		if d.ExpectedEtcdPath == "" || strings.HasSuffix(gvr.Group, ".com") {
			continue
		}
		out[gvr.Group+"/"+gvr.Resource] = !strings.Contains(d.ExpectedEtcdPath, "/"+ns+"/")
	}
	for k, v := range virtualScopes {
		out[k] = v
	}
	return out
})

// clusterScoped is the request vocabulary's notion of scope: upstream's for
// built-in resources, the engine's for anything else (the fresh resources
// of the generator, which are namespaced).
func clusterScoped(group, resource string) bool {
	res, _, _ := strings.Cut(resource, "/")
	if c, ok := upstreamScopes()[group+"/"+res]; ok {
		return c
	}
	return rbac.IsClusterScoped(group, resource)
}

// TestClusterScoped holds rbac.IsClusterScoped, which the engine uses to
// call RoleBinding grants inert, to the API server's storage layout.
func TestClusterScoped(t *testing.T) {
	var wrong []string
	scopes := upstreamScopes()
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range scopes {
			if !yield(k) {
				return
			}
		}
	}) {
		group, res, _ := strings.Cut(key, "/")
		want := scopes[key]
		if got := rbac.IsClusterScoped(group, res); got != want {
			wrong = append(wrong, key)
			t.Errorf("IsClusterScoped(%q, %q) = %v, want %v", group, res, got, want)
		}
		if got := rbac.IsClusterScoped(group, res+"/status"); got != want {
			t.Errorf("IsClusterScoped(%q, %q) = %v, want %v (a subresource has its resource's scope)", group, res+"/status", got, want)
		}
	}
	t.Logf("%d built-in resources checked; disagreeing: %v", len(scopes), wrong)
}
