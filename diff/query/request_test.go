package query

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		name                                  string
		verb, resource, group, ns, objName, u string
		want                                  Request
		err                                   bool
	}{
		{name: "core", verb: "get", resource: "secrets", ns: "shop", want: Request{Verb: "get", Resource: "secrets", Namespace: "shop"}},
		{name: "subresource", verb: "create", resource: "pods/exec", ns: "shop", want: Request{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "shop"}},
		{name: "dotted group", verb: "patch", resource: "deployments.apps/scale", want: Request{Verb: "patch", Group: "apps", Resource: "deployments", Subresource: "scale"}},
		{name: "group flag", verb: "get", resource: "widgets", group: "example.com", want: Request{Verb: "get", Group: "example.com", Resource: "widgets"}},
		{name: "group flag and dotted agree", verb: "get", resource: "widgets.example.com", group: "example.com", want: Request{Verb: "get", Group: "example.com", Resource: "widgets"}},
		{name: "group flag and dotted differ", verb: "get", resource: "widgets.example.com", group: "apps", err: true},
		{name: "url", verb: "get", u: "/metrics", want: Request{Verb: "get", URL: "/metrics"}},
		{name: "url with a resource", verb: "get", resource: "pods", u: "/metrics", err: true},
		{name: "url not a path", verb: "get", u: "metrics", err: true},
		{name: "no verb", resource: "pods", err: true},
		{name: "no resource", verb: "get", err: true},
		{name: "two slashes", verb: "get", resource: "a/b/c", err: true},
		{name: "namespace object is in itself", verb: "get", resource: "namespaces", objName: "shop", want: Request{Verb: "get", Resource: "namespaces", Name: "shop", Namespace: "shop"}},
		{name: "namespace object in another namespace", verb: "get", resource: "namespaces", objName: "shop", ns: "other", err: true},
		{name: "namespaces collection in a namespace", verb: "list", resource: "namespaces", ns: "shop", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest(tc.verb, tc.resource, tc.group, tc.ns, tc.objName, tc.u)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if d := cmp.Diff(tc.want, got); err == nil && d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseIdentity(t *testing.T) {
	for _, tc := range []struct {
		name   string
		as     string
		groups []string
		want   Identity
		err    bool
	}{
		{"service account", "system:serviceaccount:shop:api", nil,
			Identity{"system:serviceaccount:shop:api", []string{"system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"}}, false},
		{"service account with explicit groups", "system:serviceaccount:shop:api", []string{"team"},
			Identity{"system:serviceaccount:shop:api", []string{"team", "system:authenticated"}}, false},
		{"user", "jane", nil, Identity{"jane", []string{"system:authenticated"}}, false},
		{"user with groups", "jane", []string{"devs", "system:authenticated"}, Identity{"jane", []string{"devs", "system:authenticated"}}, false},
		{"anonymous", "system:anonymous", nil, Identity{"system:anonymous", []string{"system:unauthenticated"}}, false},
		{"no name", "", nil, Identity{}, true},
		{"service account without a name", "system:serviceaccount:shop", nil, Identity{}, true},
		{"service account with a colon in the name", "system:serviceaccount:shop:a:b", nil, Identity{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIdentity(tc.as, tc.groups)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if d := cmp.Diff(tc.want, got); err == nil && d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
