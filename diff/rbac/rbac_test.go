package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/report"
)

func TestParseField(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []any
	}{
		{"rules[2]", []any{"rules", 2}},
		{"rules[2].verbs[0]", []any{"rules", 2, "verbs", 0}},
		{"roleRef", []any{"roleRef"}},
		{"metadata.labels[rbac.authorization.k8s.io/aggregate-to-edit]", []any{"metadata", "labels", "rbac.authorization.k8s.io/aggregate-to-edit"}},
		{"", nil},
		{"a[", []any{"a"}},
	} {
		if got := parseField(tc.in); !cmp.Equal(got, tc.want) {
			t.Errorf("parseField(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func pr(verbs, groups, resources []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
}

func l(s ...string) []string { return s }

// TestRuleAllows pins the authorizer's matching, one semantic point each.
func TestRuleAllows(t *testing.T) {
	res := func(verb, group, resource, sub, name string) Request {
		return Request{ResourceRequest: true, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Name: name, Namespace: "ns"}
	}
	url := func(verb, path string) Request { return Request{Verb: verb, Path: path} }
	for _, tc := range []struct {
		name string
		rule rbacv1.PolicyRule
		req  Request
		want bool
	}{
		{"exact", pr(l("get"), l(""), l("pods")), res("get", "", "pods", "", ""), true},
		{"verb star", pr(l("*"), l(""), l("pods")), res("escalate", "", "pods", "", ""), true},
		{"other verb", pr(l("get"), l(""), l("pods")), res("list", "", "pods", "", ""), false},
		{"group star", pr(l("get"), l("*"), l("deployments")), res("get", "apps", "deployments", "", ""), true},
		{"extensions is not apps", pr(l("get"), l("extensions"), l("deployments")), res("get", "apps", "deployments", "", ""), false},
		{"empty groups match nothing", pr(l("get"), nil, l("pods")), res("get", "", "pods", "", ""), false},
		{"resource star covers subresource", pr(l("create"), l(""), l("*")), res("create", "", "pods", "exec", ""), true},
		{"parent does not cover subresource", pr(l("create"), l(""), l("pods")), res("create", "", "pods", "exec", ""), false},
		{"exact subresource", pr(l("create"), l(""), l("pods/exec")), res("create", "", "pods", "exec", ""), true},
		{"star slash sub", pr(l("update"), l("apps"), l("*/scale")), res("update", "apps", "deployments", "scale", ""), true},
		{"star slash sub not other sub", pr(l("update"), l("apps"), l("*/scale")), res("update", "apps", "deployments", "status", ""), false},
		{"pods slash star is literal", pr(l("create"), l(""), l("pods/*")), res("create", "", "pods", "exec", ""), false},
		{"star slash star is literal", pr(l("create"), l(""), l("*/*")), res("create", "", "pods", "exec", ""), false},
		{"named rule matches its name", rbacv1.PolicyRule{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("a")}, res("get", "", "secrets", "", "a"), true},
		{"named rule not other name", rbacv1.PolicyRule{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("a")}, res("get", "", "secrets", "", "b"), false},
		{"named rule not collection", rbacv1.PolicyRule{Verbs: l("list"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("a")}, res("list", "", "secrets", "", ""), false},
		{"url exact", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/metrics")}, url("get", "/metrics"), true},
		{"url prefix", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/api/*")}, url("get", "/api/v1"), true},
		{"url prefix needs the slash", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/api/*")}, url("get", "/api"), false},
		{"url star", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("*")}, url("get", "/healthz"), true},
		{"resource rule is not a url rule", pr(l("get"), l("*"), l("*")), url("get", "/metrics"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RuleAllows(tc.rule, tc.req); got != tc.want {
				t.Errorf("RuleAllows = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestClassify checks every example of the README's severity table.
func TestClassify(t *testing.T) {
	sa := subject{kind: "ServiceAccount", namespace: "ns", name: "a"}
	atom := func(verb, group, resource string) rbacv1.PolicyRule { return pr(l(verb), l(group), l(resource)) }
	named := func(r rbacv1.PolicyRule, name string) rbacv1.PolicyRule { r.ResourceNames = l(name); return r }
	authenticated := subject{kind: "Group", name: "system:authenticated"}
	for _, tc := range []struct {
		name  string
		s     subject
		scope string
		atom  rbacv1.PolicyRule
		want  report.Severity
	}{
		{"star on star cluster-wide", sa, "", atom("*", "*", "*"), report.Critical},
		{"escalate", sa, "ns", atom("escalate", Group, "roles"), report.Critical},
		{"bind", sa, "", atom("bind", Group, "clusterroles"), report.Critical},
		{"impersonate users", sa, "", atom("impersonate", "", "users"), report.Critical},
		{"impersonate serviceaccounts", sa, "ns", atom("impersonate", "", "serviceaccounts"), report.Critical},
		{"impersonate uids", sa, "", atom("impersonate", "authentication.k8s.io", "uids"), report.Critical},
		{"secrets read cluster-wide", sa, "", atom("list", "", "secrets"), report.Critical},
		{"nodes proxy get", sa, "", atom("get", "", "nodes/proxy"), report.Critical},
		{"token create", sa, "ns", atom("create", "", "serviceaccounts/token"), report.Critical},
		{"csr approval", sa, "", atom("update", "certificates.k8s.io", "certificatesigningrequests/approval"), report.Critical},
		{"signer approve", sa, "", rbacv1.PolicyRule{Verbs: l("approve"), APIGroups: l("certificates.k8s.io"), Resources: l("signers"), ResourceNames: l("kubernetes.io/kube-apiserver-client")}, report.Critical},
		{"webhook writes", sa, "", atom("patch", "admissionregistration.k8s.io", "mutatingwebhookconfigurations"), report.Critical},
		// The README's matrix: a broad subject raises a risky permission,
		// never makes a harmless one critical.
		{"authenticated: list secrets", authenticated, "", atom("list", "", "secrets"), report.Critical},
		{"authenticated: create pods", authenticated, "ns", atom("create", "", "pods"), report.Critical},
		{"authenticated: delete configmaps", authenticated, "ns", atom("delete", "", "configmaps"), report.High},
		{"authenticated: get configmaps", authenticated, "ns", atom("get", "", "configmaps"), report.Medium},
		{"authenticated: get one named configmap", authenticated, "ns", named(atom("get", "", "configmaps"), "pipelines-info"), report.Low},
		{"all service accounts: get configmaps", subject{kind: "Group", name: "system:serviceaccounts"}, "", atom("get", "", "configmaps"), report.Medium},
		{"all service accounts: create pods", subject{kind: "Group", name: "system:serviceaccounts"}, "ns", atom("create", "", "pods"), report.Critical},
		{"unauthenticated: get configmaps", subject{kind: "Group", name: "system:unauthenticated"}, "", atom("get", "", "configmaps"), report.High},
		{"unauthenticated: get one named configmap", subject{kind: "Group", name: "system:unauthenticated"}, "", named(atom("get", "", "configmaps"), "x"), report.Medium},
		{"unauthenticated: delete configmaps", subject{kind: "Group", name: "system:unauthenticated"}, "ns", atom("delete", "", "configmaps"), report.Critical},
		{"anonymous: get configmaps", subject{kind: "User", name: "system:anonymous"}, "", atom("get", "", "configmaps"), report.High},
		{"anonymous: get a url", subject{kind: "User", name: "system:anonymous"}, "", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/version")}, report.High},
		{"verb star on resource star in a namespace", sa, "ns", atom("get", "*", "*"), report.High},
		{"secrets read in a namespace", sa, "ns", atom("get", "", "secrets"), report.High},
		{"secrets read in kube-system", sa, "kube-system", atom("watch", "", "secrets"), report.Critical},
		{"one named secret", sa, "ns", rbacv1.PolicyRule{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("tls")}, report.Medium},
		{"pods exec", sa, "ns", atom("create", "", "pods/exec"), report.High},
		{"pods attach", sa, "ns", atom("get", "", "pods/attach"), report.High},
		{"pods portforward", sa, "ns", atom("create", "", "pods/portforward"), report.High},
		{"create pods", sa, "ns", atom("create", "", "pods"), report.High},
		{"create deployments", sa, "ns", atom("create", "apps", "deployments"), report.High},
		{"create cronjobs", sa, "ns", atom("create", "batch", "cronjobs"), report.High},
		{"rolebinding writes", sa, "ns", atom("create", Group, "rolebindings"), report.High},
		{"clusterrole writes", sa, "", atom("update", Group, "clusterroles"), report.High},
		{"persistentvolumes create", sa, "", atom("create", "", "persistentvolumes"), report.High},
		{"verb star on pods", sa, "ns", atom("*", "", "pods"), report.High},
		{"other writes", sa, "ns", atom("delete", "", "configmaps"), report.Medium},
		{"custom verb", sa, "ns", atom("use", "policy", "podsecuritypolicies"), report.Medium},
		{"read-only", sa, "ns", atom("list", "", "configmaps"), report.Low},
		{"read a url", sa, "", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/metrics")}, report.Low},
		{"namespace's accounts: get configmaps", subject{kind: "Group", name: "system:serviceaccounts:ns"}, "ns", atom("get", "", "configmaps"), report.Low},
		{"namespace's accounts: delete configmaps", subject{kind: "Group", name: "system:serviceaccounts:ns"}, "ns", atom("delete", "", "configmaps"), report.High},
		{"namespace's accounts: create pods", subject{kind: "Group", name: "system:serviceaccounts:ns"}, "ns", atom("create", "", "pods"), report.High},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := classify(tc.s, tc.scope, tc.atom)
			if got != tc.want {
				t.Errorf("classify = %s (%s), want %s", got, why, tc.want)
			}
			if why == "" {
				t.Error("no risk explanation")
			}
		})
	}
}

// TestBootstrap checks that the embedded bootstrap policy decodes and that
// the built-in roles grant what the README says they do.
func TestBootstrap(t *testing.T) {
	g := Build(nil, Options{})
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:aggregate-to-edit", "system:discovery", "system:basic-user"} {
		if g.roles[roleKey{"ClusterRole", "", name}] == nil {
			t.Errorf("built-in ClusterRole %s missing", name)
		}
	}
	if len(g.Problems()) > 0 {
		t.Errorf("problems in the bootstrap policy: %v", g.Problems())
	}
	edit := g.roles[roleKey{"ClusterRole", "", "edit"}]
	var rules []rbacv1.PolicyRule
	for _, r := range edit.rules {
		rules = append(rules, r.PolicyRule)
	}
	for _, req := range []Request{
		{ResourceRequest: true, Verb: "get", Resource: "secrets", Namespace: "ns"},
		{ResourceRequest: true, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "ns"},
		{ResourceRequest: true, Verb: "impersonate", Resource: "serviceaccounts", Namespace: "ns"},
		{ResourceRequest: true, Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: "ns"},
	} {
		if !anyAllows(rules, req) {
			t.Errorf("built-in edit does not allow %+v", req)
		}
	}
	masters := User{Name: "root", Groups: []string{"system:masters", "system:authenticated"}}
	if !g.Allows(masters, Request{ResourceRequest: true, Verb: "delete", Resource: "nodes"}) {
		t.Error("system:masters is not all-powerful")
	}
	anon := User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}
	if g.Allows(anon, Request{ResourceRequest: true, Verb: "list", Resource: "secrets"}) {
		t.Error("anonymous can list secrets")
	}
}

func anyAllows(rules []rbacv1.PolicyRule, r Request) bool {
	for _, ru := range rules {
		if RuleAllows(ru, r) {
			return true
		}
	}
	return false
}

// TestUnreal pins which atoms name nothing the API server ever asks: list
// and deletecollection on a subresource, impersonate outside what the
// impersonation filter asks.
func TestUnreal(t *testing.T) {
	named := func(verb, group, resource string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: l(verb), APIGroups: l(group), Resources: l(resource), ResourceNames: l("x")}
	}
	for _, tc := range []struct {
		name  string
		atom  rbacv1.PolicyRule
		want  bool
		scope string
	}{
		{"list pods/log", pr(l("list"), l(""), l("pods/log")), true, ""},
		{"deletecollection pods/status", pr(l("deletecollection"), l(""), l("pods/status")), true, ""},
		{"list star/scale", pr(l("list"), l("apps"), l("*/scale")), true, ""},
		{"named list of a subresource", named("list", "", "pods/log"), true, ""},
		{"get pods/log", pr(l("get"), l(""), l("pods/log")), false, ""},
		{"watch pods/log: the deprecated /watch/ path names the pod", pr(l("watch"), l(""), l("pods/log")), false, ""},
		{"create pods/exec", pr(l("create"), l(""), l("pods/exec")), false, ""},
		{"list pods", pr(l("list"), l(""), l("pods")), false, ""},
		{"list star reaches resources", pr(l("list"), l(""), l("*")), false, ""},
		{"deletecollection pods", pr(l("deletecollection"), l(""), l("pods")), false, ""},
		{"verb star on a subresource", pr(l("*"), l(""), l("pods/log")), false, ""},
		{"impersonate pods", pr(l("impersonate"), l(""), l("pods")), true, ""},
		{"impersonate apps star", pr(l("impersonate"), l("apps"), l("*")), true, ""},
		{"impersonate users in apps", pr(l("impersonate"), l("apps"), l("users")), true, ""},
		{"impersonate uids in the core group", pr(l("impersonate"), l(""), l("uids")), true, ""},
		{"impersonate serviceaccounts/token", pr(l("impersonate"), l(""), l("serviceaccounts/token")), true, ""},
		{"impersonate users", pr(l("impersonate"), l(""), l("users")), false, ""},
		{"impersonate groups", pr(l("impersonate"), l(""), l("groups")), false, ""},
		{"impersonate serviceaccounts", named("impersonate", "", "serviceaccounts"), false, ""},
		{"impersonate uids", pr(l("impersonate"), l("authentication.k8s.io"), l("uids")), false, ""},
		{"impersonate userextras key", pr(l("impersonate"), l("authentication.k8s.io"), l("userextras/scopes")), false, ""},
		{"impersonate userextras without key", pr(l("impersonate"), l("authentication.k8s.io"), l("userextras")), false, ""},
		{"impersonate star/key reaches userextras", pr(l("impersonate"), l("authentication.k8s.io"), l("*/scopes")), false, ""},
		{"impersonate star/key in the core group", pr(l("impersonate"), l(""), l("*/scopes")), true, ""},
		{"impersonate star in the core group", pr(l("impersonate"), l(""), l("*")), false, ""},
		{"impersonate star in every group", pr(l("impersonate"), l("*"), l("*")), false, ""},
		{"impersonate any group's users", pr(l("impersonate"), l("*"), l("users")), false, ""},
		{"impersonate a url is an HTTP method", rbacv1.PolicyRule{Verbs: l("impersonate"), NonResourceURLs: l("/healthz")}, false, ""},
		{"impersonate any group's groups in a namespace", pr(l("impersonate"), l("*"), l("groups")), true, "ns"},
		{"impersonate star/key in a namespace", pr(l("impersonate"), l("authentication.k8s.io"), l("*/scopes")), true, "ns"},
		{"impersonate star in a namespace reaches serviceaccounts", pr(l("impersonate"), l("*"), l("*")), false, "ns"},
		{"impersonate serviceaccounts in a namespace", pr(l("impersonate"), l(""), l("serviceaccounts")), false, "ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unreal(tc.atom, tc.scope); (got != "") != tc.want {
				t.Errorf("unreal(%v) = %q, want unreal=%v", tc.atom, got, tc.want)
			}
		})
	}
}

// TestWildcardVerbs pins how a "*" verb is spelled out when only part of
// it is lost.
func TestWildcardVerbs(t *testing.T) {
	std := l("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
	for _, tc := range []struct {
		group, resource string
		want            []string
	}{
		{"", "configmaps", std},
		{"", "pods/log", l("get", "watch", "create", "update", "patch", "delete")},
		{"apps", "*/scale", l("get", "watch", "create", "update", "patch", "delete")},
		{Group, "roles", append(l(std...), "bind", "escalate")},
		{"", "users", append(l(std...), "impersonate")},
		{"", "serviceaccounts", append(l(std...), "impersonate")},
		{"authentication.k8s.io", "userextras/scopes", l("get", "watch", "create", "update", "patch", "delete", "impersonate")},
		{"certificates.k8s.io", "signers", append(l(std...), "approve", "sign", "attest")},
		{"apps", "*", std},
		{"*", "*", append(l(std...), "bind", "escalate", "impersonate", "approve", "sign", "attest")},
	} {
		if got := WildcardVerbs(tc.group, tc.resource); !cmp.Equal(got, tc.want) {
			t.Errorf("WildcardVerbs(%q, %q) = %v, want %v", tc.group, tc.resource, got, tc.want)
		}
	}
}

// TestRuleAtoms checks that unreal atoms vanish from a rule that grants
// something real and become inert notes in one that grants nothing.
func TestRuleAtoms(t *testing.T) {
	g := Build(nil, Options{NoBootstrap: true})
	verbs := func(as []atom) (real, inert []string) {
		for _, a := range as {
			if a.inert == "" {
				real = append(real, a.Verbs[0]+" "+a.Resources[0])
			} else {
				inert = append(inert, a.Verbs[0]+" "+a.Resources[0])
			}
		}
		return real, inert
	}
	real, inert := verbs(g.ruleAtoms(pr(l("get", "list", "watch"), l(""), l("pods/log")), "ns"))
	if !cmp.Equal(real, l("get pods/log", "watch pods/log")) || inert != nil {
		t.Errorf("view's pods/log rule: real %v, inert %v; want get and watch, nothing inert", real, inert)
	}
	real, inert = verbs(g.ruleAtoms(pr(l("impersonate"), l(""), l("pods", "users")), ""))
	if !cmp.Equal(real, l("impersonate users")) || inert != nil {
		t.Errorf("impersonate pods, users: real %v, inert %v; want impersonate users only", real, inert)
	}
	real, inert = verbs(g.ruleAtoms(pr(l("impersonate", "list"), l(""), l("pods/log")), "ns"))
	if real != nil || !cmp.Equal(inert, l("impersonate pods/log", "list pods/log")) {
		t.Errorf("a rule of nothing real: real %v, inert %v; want both inert", real, inert)
	}
}

// TestCoversImpersonation checks that an impersonate atom is judged by
// what the impersonation filter can ask of it.
func TestCoversImpersonation(t *testing.T) {
	sa := pr(l("impersonate"), l(""), l("serviceaccounts"))
	all := pr(l("impersonate"), l("*"), l("*"))
	if !covers([]rbacv1.PolicyRule{sa}, all, "ns") {
		t.Error("impersonate */* in a namespace is only serviceaccounts there, which the owner covers")
	}
	if covers([]rbacv1.PolicyRule{sa}, all, "") {
		t.Error("impersonate */* cluster-wide reaches users too")
	}
	owner := []rbacv1.PolicyRule{sa, pr(l("impersonate"), l(""), l("users", "groups")), pr(l("impersonate"), l("authentication.k8s.io"), l("*"))}
	if !covers(owner, all, "") {
		t.Error("users, groups, serviceaccounts and everything in authentication.k8s.io cover impersonate */*")
	}
	if covers(owner[:2], pr(l("impersonate"), l("authentication.k8s.io"), l("userextras/scopes")), "") {
		t.Error("userextras/scopes is not covered by core-group grants")
	}
}
