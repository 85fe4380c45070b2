package conformance

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/component-helpers/auth/rbac/validation"
	"k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy"
)

func rules(verb string, resources ...string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range resources {
		out = append(out, rbacv1.PolicyRule{Verbs: []string{verb}, APIGroups: []string{""}, Resources: []string{r}})
	}
	return out
}

func cr(name string, labels map[string]string, sel []metav1.LabelSelector, rs ...[]rbacv1.PolicyRule) rbacv1.ClusterRole {
	c := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if sel != nil {
		c.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: sel}
	}
	for _, r := range rs {
		c.Rules = append(c.Rules, r...)
	}
	return c
}

func ml(kv ...string) metav1.LabelSelector {
	s := metav1.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

// TestAggregate holds Aggregate to the cases of the controller's own
// TestSyncClusterRole (pkg/controller/clusterroleaggregation) and to the
// controller behaviours the engine must mirror: matchExpressions, the role
// itself skipped, transitivity, and cycles that never settle.
func TestAggregate(t *testing.T) {
	hammer := append(rules("hammer", "nails"), rules("hammer", "wedges")...)
	chisel := rules("chisel", "mortises")
	saw := rules("saw", "boards")
	foo := map[string]string{"foo": "bar"}
	notFoo := map[string]string{"foo": "not-bar"}
	tests := []struct {
		name  string
		roles []rbacv1.ClusterRole
		want  map[string][]rbacv1.PolicyRule // rules of each aggregated role
		err   error
	}{
		{name: "remove dead rules",
			roles: []rbacv1.ClusterRole{cr("hammer", foo, nil, hammer), cr("combined", nil, []metav1.LabelSelector{ml("foo", "bar")}, saw)},
			want:  map[string][]rbacv1.PolicyRule{"combined": hammer}},
		{name: "strip rules",
			roles: []rbacv1.ClusterRole{cr("hammer", notFoo, nil, hammer), cr("combined", nil, []metav1.LabelSelector{ml("foo", "bar")}, hammer)},
			want:  map[string][]rbacv1.PolicyRule{"combined": {}}},
		{name: "select properly and put in order",
			roles: []rbacv1.ClusterRole{cr("hammer", foo, nil, hammer), cr("chisel", foo, nil, chisel), cr("saw", notFoo, nil, saw),
				cr("combined", nil, []metav1.LabelSelector{ml("foo", "bar")})},
			want: map[string][]rbacv1.PolicyRule{"combined": append(append([]rbacv1.PolicyRule{}, chisel...), hammer...)}},
		{name: "select properly with multiple selectors",
			roles: []rbacv1.ClusterRole{cr("hammer", foo, nil, hammer), cr("chisel", foo, nil, chisel), cr("saw", notFoo, nil, saw),
				cr("combined", nil, []metav1.LabelSelector{ml("foo", "bar"), ml("foo", "not-bar")})},
			want: map[string][]rbacv1.PolicyRule{"combined": append(append(append([]rbacv1.PolicyRule{}, chisel...), hammer...), saw...)}},
		{name: "select properly remove duplicates",
			roles: []rbacv1.ClusterRole{cr("hammer", foo, nil, hammer), cr("chisel", foo, nil, chisel), cr("saw", foo, nil, saw), cr("other-saw", notFoo, nil, saw),
				cr("combined", nil, []metav1.LabelSelector{ml("foo", "bar"), ml("foo", "not-bar")})},
			want: map[string][]rbacv1.PolicyRule{"combined": append(append(append([]rbacv1.PolicyRule{}, chisel...), hammer...), saw...)}},
		{name: "match expressions",
			roles: []rbacv1.ClusterRole{cr("hammer", foo, nil, hammer), cr("chisel", map[string]string{"foo": "baz"}, nil, chisel), cr("saw", map[string]string{"x": "y"}, nil, saw),
				cr("combined", nil, []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "foo", Operator: metav1.LabelSelectorOpIn, Values: []string{"baz", "qux"}}}}})},
			want: map[string][]rbacv1.PolicyRule{"combined": chisel}},
		{name: "does not exist expression",
			roles: []rbacv1.ClusterRole{cr("hammer", foo, nil, hammer), cr("saw", map[string]string{"x": "y"}, nil, saw),
				cr("combined", nil, []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "foo", Operator: metav1.LabelSelectorOpDoesNotExist}}}})},
			// "combined" has no foo label either but is skipped as itself.
			want: map[string][]rbacv1.PolicyRule{"combined": saw}},
		{name: "empty selector matches every role but itself",
			roles: []rbacv1.ClusterRole{cr("hammer", foo, nil, hammer), cr("saw", nil, nil, saw),
				cr("combined", nil, []metav1.LabelSelector{{}}, chisel)},
			want: map[string][]rbacv1.PolicyRule{"combined": append(append([]rbacv1.PolicyRule{}, hammer...), saw...)}},
		{name: "transitive",
			roles: []rbacv1.ClusterRole{
				cr("a-top", nil, []metav1.LabelSelector{ml("to", "top")}),
				cr("b-mid", map[string]string{"to": "top"}, []metav1.LabelSelector{ml("to", "mid")}, hammer),
				cr("c-leaf", map[string]string{"to": "mid"}, nil, saw),
				cr("d-top", map[string]string{"to": "top"}, nil, chisel)},
			want: map[string][]rbacv1.PolicyRule{"a-top": append(append([]rbacv1.PolicyRule{}, saw...), chisel...), "b-mid": saw}},
		// In a cycle the controller's result depends on the order it
		// happens to sync the roles in; Aggregate syncs in name order. The
		// generator of the differential test makes no cycles for that reason.
		{name: "cycle of hand-written rules settles in sync order",
			roles: []rbacv1.ClusterRole{
				cr("a", map[string]string{"to": "b"}, []metav1.LabelSelector{ml("to", "a")}, hammer),
				cr("b", map[string]string{"to": "a"}, []metav1.LabelSelector{ml("to", "b")}, saw)},
			want: map[string][]rbacv1.PolicyRule{"a": saw, "b": saw}},
		{name: "cycle fed by a leaf settles",
			roles: []rbacv1.ClusterRole{
				cr("a", map[string]string{"to": "b"}, []metav1.LabelSelector{ml("to", "a")}),
				cr("b", map[string]string{"to": "a"}, []metav1.LabelSelector{ml("to", "b")}),
				cr("c", map[string]string{"to": "a"}, nil, saw)},
			want: map[string][]rbacv1.PolicyRule{"a": saw, "b": saw}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Aggregate(tc.roles)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Aggregate error %v, want %v", err, tc.err)
			}
			for _, r := range got {
				want, ok := tc.want[r.Name]
				if !ok {
					continue
				}
				if diff := cmp.Diff(want, r.Rules, cmpEmpty); diff != "" {
					t.Errorf("rules of %s (-want +got):\n%s", r.Name, diff)
				}
			}
		})
	}
}

var cmpEmpty = cmp.FilterValues(func(a, b []rbacv1.PolicyRule) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

// TestAggregateBootstrap checks the aggregated built-in admin, edit and view
// against their definition upstream: each is exactly the union of the
// bootstrap system:aggregate-to-* roles beneath it, in the controller's
// order, and it grants what the Kubernetes documentation says it grants.
func TestAggregateBootstrap(t *testing.T) {
	p, err := Bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*rbacv1.ClusterRole{}
	for _, r := range p.ClusterRoles {
		got[r.Name] = r
	}
	src := map[string][]rbacv1.PolicyRule{}
	for _, r := range bootstrappolicy.ClusterRoles() {
		src[r.Name] = r.Rules
		if r.AggregationRule != nil && len(r.Rules) != 0 {
			t.Errorf("upstream %s has hand-written rules; the test assumes none", r.Name)
		}
	}
	union := func(names ...[]rbacv1.PolicyRule) []rbacv1.PolicyRule {
		var out []rbacv1.PolicyRule
		for _, rs := range names {
			for _, r := range rs {
				if !ruleExists(out, r) {
					out = append(out, r)
				}
			}
		}
		return out
	}
	// Name order of the matches: edit < system:aggregate-to-admin <
	// system:aggregate-to-edit < view (view carries aggregate-to-edit).
	view := union(src["system:aggregate-to-view"])
	edit := union(src["system:aggregate-to-edit"], view)
	admin := union(edit, src["system:aggregate-to-admin"])
	for name, want := range map[string][]rbacv1.PolicyRule{"view": view, "edit": edit, "admin": admin} {
		if diff := cmp.Diff(want, got[name].Rules); diff != "" {
			t.Errorf("aggregated %s (-want +got):\n%s", name, diff)
		}
		// Coverage both ways, by the API server's escalation check.
		if ok, missing := validation.Covers(got[name].Rules, want); !ok {
			t.Errorf("%s does not cover %v", name, missing)
		}
	}
	if ok, _ := validation.Covers(got["view"].Rules, got["edit"].Rules); ok {
		t.Errorf("view covers edit")
	}
	if ok, missing := validation.Covers(got["admin"].Rules, got["edit"].Rules); !ok {
		t.Errorf("admin misses %v of edit", missing)
	}

	type grant struct {
		role        string
		verb        string
		group       string
		resource    string
		subresource string
		want        bool
	}
	for _, g := range []grant{
		{"edit", "get", "", "secrets", "", true},
		{"edit", "create", "", "pods", "exec", true},
		{"edit", "impersonate", "", "serviceaccounts", "", true},
		{"edit", "create", "", "serviceaccounts", "token", true},
		{"edit", "create", "rbac.authorization.k8s.io", "rolebindings", "", false},
		{"admin", "create", "rbac.authorization.k8s.io", "rolebindings", "", true},
		{"admin", "create", "rbac.authorization.k8s.io", "roles", "", true},
		{"view", "get", "", "secrets", "", false},
		{"view", "list", "apps", "deployments", "", true},
		{"view", "get", "", "pods", "log", true},
	} {
		rules := got[g.role].Rules
		attrs := authorizer.AttributesRecord{Verb: g.verb, APIGroup: g.group, Resource: g.resource, Subresource: g.subresource,
			Namespace: "ns", ResourceRequest: true}
		if allowed := ruleSetAllows(rules, attrs); allowed != g.want {
			t.Errorf("%s allows %s %s/%s: %v, want %v", g.role, g.verb, g.resource, g.subresource, allowed, g.want)
		}
	}
}
