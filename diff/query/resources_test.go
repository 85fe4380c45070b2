package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// TestBuiltinResourcesCoverAPITypes holds resources.txt to k8s.io/api:
// every object kind of a served stable group (one with a List type) is
// in the table, in its group.
func TestBuiltinResourcesCoverAPITypes(t *testing.T) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		admissionregistrationv1.AddToScheme, appsv1.AddToScheme, authenticationv1.AddToScheme, authorizationv1.AddToScheme,
		autoscalingv2.AddToScheme, batchv1.AddToScheme, certificatesv1.AddToScheme, coordinationv1.AddToScheme,
		corev1.AddToScheme, discoveryv1.AddToScheme, eventsv1.AddToScheme, flowcontrolv1.AddToScheme,
		networkingv1.AddToScheme, nodev1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme,
		resourcev1.AddToScheme, schedulingv1.AddToScheme, storagev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	rs := BuiltinResources()
	known := map[[2]string]bool{}
	for _, r := range rs.list {
		known[[2]string{r.Group, r.Kind}] = true
	}
	for gvk := range s.AllKnownTypes() {
		typ := s.AllKnownTypes()[gvk]
		if _, ok := s.AllKnownTypes()[gvk.GroupVersion().WithKind(gvk.Kind+"List")]; !ok || strings.HasPrefix(typ.PkgPath(), "k8s.io/apimachinery/") {
			continue
		}
		if !known[[2]string{gvk.Group, gvk.Kind}] {
			t.Errorf("resources.txt lacks %s (group %q)", gvk.Kind, gvk.Group)
		}
	}
	for _, kind := range []string{"TokenReview", "SubjectAccessReview", "SelfSubjectRulesReview"} { // create-only: no List type
		if _, ok := rs.find(kind, "", true); !ok {
			t.Errorf("resources.txt lacks %s", kind)
		}
	}
}

func TestResourcesRequest(t *testing.T) {
	crd := manifest.FromBody(map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "applications.argoproj.io"},
		"spec": map[string]any{"group": "argoproj.io", "scope": "Namespaced",
			"names":    map[string]any{"plural": "applications", "kind": "Application", "shortNames": []any{"app", "apps"}},
			"versions": []any{map[string]any{"name": "v1alpha1", "subresources": map[string]any{"status": map[string]any{}}}}}})
	rs := BuiltinResources().WithCRDs([]*manifest.Object{crd})
	for _, tc := range []struct {
		name string
		args RequestArgs
		want Request
		err  string
	}{
		{name: "plural", args: RequestArgs{Verb: "get", Resource: "secrets"}, want: Request{Verb: "get", Resource: "secrets"}},
		{name: "singular", args: RequestArgs{Verb: "get", Resource: "secret", Namespace: "shop"}, want: Request{Verb: "get", Resource: "secrets", Namespace: "shop"}},
		{name: "kind", args: RequestArgs{Verb: "get", Resource: "Secret"}, want: Request{Verb: "get", Resource: "secrets"}},
		{name: "short name", args: RequestArgs{Verb: "list", Resource: "po"}, want: Request{Verb: "list", Resource: "pods"}},
		{name: "short name of a group", args: RequestArgs{Verb: "patch", Resource: "deploy"}, want: Request{Verb: "patch", Group: "apps", Resource: "deployments"}},
		{name: "sa", args: RequestArgs{Verb: "get", Resource: "sa/token"}, want: Request{Verb: "get", Resource: "serviceaccounts", Subresource: "token"}},
		{name: "resource.group", args: RequestArgs{Verb: "get", Resource: "deployments.apps"}, want: Request{Verb: "get", Group: "apps", Resource: "deployments"}},
		{name: "resource.version.group", args: RequestArgs{Verb: "get", Resource: "deployment.v1.apps/scale"}, want: Request{Verb: "get", Group: "apps", Resource: "deployments", Subresource: "scale"}},
		{name: "core before events.k8s.io", args: RequestArgs{Verb: "get", Resource: "events"}, want: Request{Verb: "get", Resource: "events"}},
		{name: "events.k8s.io when named", args: RequestArgs{Verb: "get", Resource: "events.events.k8s.io"}, want: Request{Verb: "get", Group: "events.k8s.io", Resource: "events"}},
		{name: "ingress", args: RequestArgs{Verb: "get", Resource: "ing"}, want: Request{Verb: "get", Group: "networking.k8s.io", Resource: "ingresses"}},
		{name: "subresource", args: RequestArgs{Verb: "create", Resource: "pods/exec"}, want: Request{Verb: "create", Resource: "pods", Subresource: "exec"}},
		{name: "TYPE/NAME", args: RequestArgs{Verb: "get", Resource: "pods/web-0"}, want: Request{Verb: "get", Resource: "pods", Name: "web-0"}},
		{name: "TYPE/NAME with --subresource", args: RequestArgs{Verb: "create", Resource: "pod/exec", Subresource: "exec"}, want: Request{Verb: "create", Resource: "pods", Subresource: "exec", Name: "exec"}},
		{name: "--subresource", args: RequestArgs{Verb: "create", Resource: "po", Subresource: "portforward"}, want: Request{Verb: "create", Resource: "pods", Subresource: "portforward"}},
		{name: "near miss of a subresource", args: RequestArgs{Verb: "create", Resource: "pods/exce"}, err: "did you mean pods/exec?"},
		{name: "unknown --subresource", args: RequestArgs{Verb: "create", Resource: "pods", Subresource: "exce"}, err: "did you mean pods/exec?"},
		{name: "TYPE/NAME and --name differ", args: RequestArgs{Verb: "get", Resource: "pods/a", Name: "b"}, err: "--name is b"},
		{name: "namespace object by short name", args: RequestArgs{Verb: "get", Resource: "ns/shop"}, want: Request{Verb: "get", Resource: "namespaces", Name: "shop", Namespace: "shop"}},
		{name: "CRD plural", args: RequestArgs{Verb: "get", Resource: "applications"}, want: Request{Verb: "get", Group: "argoproj.io", Resource: "applications"}},
		{name: "CRD short name", args: RequestArgs{Verb: "get", Resource: "app"}, want: Request{Verb: "get", Group: "argoproj.io", Resource: "applications"}},
		{name: "CRD short name apps", args: RequestArgs{Verb: "get", Resource: "apps"}, want: Request{Verb: "get", Group: "argoproj.io", Resource: "applications"}},
		{name: "CRD status", args: RequestArgs{Verb: "patch", Resource: "applications.argoproj.io/status"}, want: Request{Verb: "patch", Group: "argoproj.io", Resource: "applications", Subresource: "status"}},
		{name: "group flag", args: RequestArgs{Verb: "get", Resource: "deploy", Group: "apps", GroupSet: true}, want: Request{Verb: "get", Group: "apps", Resource: "deployments"}},
		{name: "group flag core", args: RequestArgs{Verb: "get", Resource: "deployments", GroupSet: true}, err: `resource type "deployments"`},
		{name: "group flag and dotted differ", args: RequestArgs{Verb: "get", Resource: "deployments.apps", Group: "batch", GroupSet: true}, err: "--group is"},
		{name: "typo", args: RequestArgs{Verb: "get", Resource: "secretz"}, err: "did you mean secrets?"},
		{name: "typo of a group resource", args: RequestArgs{Verb: "get", Resource: "deploymnets"}, err: "deployments.apps"},
		{name: "unknown group taken as written", args: RequestArgs{Verb: "get", Resource: "widgets.example.com/status"}, want: Request{Verb: "get", Group: "example.com", Resource: "widgets", Subresource: "status"}},
		{name: "known group, unknown name", args: RequestArgs{Verb: "get", Resource: "applicatons.argoproj.io"}, err: "applications.argoproj.io"},
		{name: "wildcard", args: RequestArgs{Verb: "*", Resource: "*"}, want: Request{Verb: "*", Resource: "*"}},
		{name: "impersonate users", args: RequestArgs{Verb: "impersonate", Resource: "users"}, want: Request{Verb: "impersonate", Resource: "users"}},
		{name: "userextras", args: RequestArgs{Verb: "impersonate", Resource: "userextras/scopes"}, want: Request{Verb: "impersonate", Resource: "userextras", Subresource: "scopes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rs.Request(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestUnknownResourceError(t *testing.T) {
	_, err := BuiltinResources().Request(RequestArgs{Verb: "gett", Resource: "secretz"})
	var u *UnknownResourceError
	if !errors.As(err, &u) || u.Arg != "secretz" || len(u.Nearest) == 0 || u.Nearest[0] != "secrets" {
		t.Fatalf("err = %#v, want an UnknownResourceError naming secrets first", err)
	}
}

func TestVerbWarning(t *testing.T) {
	if w := VerbWarning("get"); w != "" {
		t.Errorf("get: %q, want no warning", w)
	}
	if w := VerbWarning("gett"); !strings.Contains(w, "did you mean get") {
		t.Errorf("gett: %q, want a warning naming get", w)
	}
}

func TestScopeWarning(t *testing.T) {
	rs := BuiltinResources()
	if w := rs.ScopeWarning(Request{Verb: "get", Resource: "nodes", Namespace: "shop"}); !strings.Contains(w, "not namespace scoped") {
		t.Errorf("nodes -n shop: %q, want a warning", w)
	}
	for _, r := range []Request{{Verb: "get", Resource: "secrets", Namespace: "shop"}, {Verb: "get", Resource: "nodes"},
		{Verb: "get", Resource: "namespaces", Name: "shop", Namespace: "shop"}} {
		if w := rs.ScopeWarning(r); w != "" {
			t.Errorf("%v: %q, want no warning", r, w)
		}
	}
}
