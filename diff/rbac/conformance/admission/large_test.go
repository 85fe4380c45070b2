package admission_test

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rbacguard/rbacguard/diff/admission"
)

// TestAdmission_LargeObjects measures the cost of the exported policies on
// objects far larger than real ones (a ClusterRole of 200 rules, each with
// a wildcard and 10 values in every list, where the largest role in the
// kube-prometheus, cluster-api, argocd, flux2 and tekton trees has 15 rules
// outside testdata; a binding of 2,000 subjects) and
// fails on any cost error, so that a cost-limit denial of a real object
// cannot happen unseen. The worst cost is logged beside the per-call
// limit. (At 500 such rules with 20 values in each list, the rule checks
// pass the limit, and their failure policy, Fail, denies the object.)
func TestAdmission_LargeObjects(t *testing.T) {
	set := admission.Export(nil, now)
	c := newCluster(t, set.Policies, set.Bindings)
	values := func(prefix string, n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}
	var rules []any
	for i := 0; i < 200; i++ {
		rules = append(rules, map[string]any{"apiGroups": values("g", 10), "resources": append(values("r", 9), "*"), "verbs": values("v", 10)})
	}
	var subjects []any
	for i := 0; i < 2000; i++ {
		subjects = append(subjects, map[string]any{"kind": "ServiceAccount", "name": fmt.Sprintf("sa%d", i), "namespace": "ns"})
	}
	objects := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "big"}, "rules": rules}},
		{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": map[string]any{"name": "big", "namespace": "ns"}, "rules": rules}},
		{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": map[string]any{"name": "big"},
			"roleRef": map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}, "subjects": subjects}},
	}
	for _, o := range objects {
		worst, at := int64(0), ""
		for name, cost := range c.cost(t, o) {
			if cost > worst {
				worst, at = cost, name
			}
		}
		if worst == 0 {
			t.Errorf("%s: no policy evaluated", o.GetKind())
		}
		c.create(o)
		t.Logf("%s of %d rules or %d subjects: worst cost %d (%s), per-call limit %d", o.GetKind(), len(rules), len(subjects), worst, at, perCallLimit)
	}
	for _, e := range c.errors {
		t.Errorf("not a check's answer: %s", e)
	}
}
