package conformance

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	"k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/rbacguard/rbacguard/diff/audit"
	"github.com/rbacguard/rbacguard/diff/rbac"
)

// TestAuditPolicy_Evaluate holds diff/audit's policy evaluation to the API
// server's own (k8s.io/apiserver/pkg/audit/policy.NewPolicyRuleEvaluator)
// on random policies and requests drawn from small pools, so that users,
// groups, namespaces, names, "*", "pods/*" and "*/scale" meet.
func TestAuditPolicy_Evaluate(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 2026))
	pick := func(pool []string) string { return pool[r.IntN(len(pool))] }
	some := func(pool []string, max int) []string {
		var out []string
		for range r.IntN(max + 1) {
			if s := pick(pool); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	levels := []string{"None", "Metadata", "Request", "RequestResponse"}
	stages := []string{"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}
	users := []string{"alice", "bob", "system:serviceaccount:ns-a:sa0", "system:anonymous"}
	groups := []string{"ops", "system:authenticated", "system:serviceaccounts", "system:nodes", "system:unauthenticated"}
	verbs := []string{"get", "list", "watch", "create", "update", "patch", "delete", "impersonate", "escalate", "bind"}
	apiGroups := []string{"", "", "rbac.authorization.k8s.io", "apps", "authentication.k8s.io", "*"}
	resources := []string{"pods", "pods/exec", "pods/*", "secrets", "serviceaccounts/token", "*/token", "deployments/scale", "*/scale", "roles", "*", "tokenreviews"}
	nss := []string{"", "ns-a", "ns-b", "kube-system"}
	names := []string{"n1", "n2", "sa0"}
	urls := []string{"/healthz", "/healthz/*", "/metrics", "/api/*", "*", "/version"}

	const policies, requests = 3000, 60
	for i := range policies {
		var mine audit.Policy
		var theirs auditinternal.Policy
		ps := some(stages, 2)
		theirs.OmitStages = asStages(ps)
		mine.OmitStages = asMyStages(ps)
		for range 1 + r.IntN(5) {
			lv := pick(levels)
			mr := audit.Rule{Level: audit.Level(lv)}
			tr := auditinternal.PolicyRule{Level: auditinternal.Level(lv)}
			if r.IntN(3) == 0 {
				mr.Users = some(users, 2)
				tr.Users = mr.Users
			}
			if r.IntN(3) == 0 {
				mr.UserGroups = some(groups, 2)
				tr.UserGroups = mr.UserGroups
			}
			if r.IntN(2) == 0 {
				mr.Verbs = some(verbs, 3)
				tr.Verbs = mr.Verbs
			}
			switch r.IntN(3) {
			case 0:
				for range 1 + r.IntN(2) {
					gr := audit.GroupResources{Group: pick(apiGroups), Resources: some(resources, 3)}
					if r.IntN(3) == 0 {
						gr.ResourceNames = some(names, 2)
					}
					mr.Resources = append(mr.Resources, gr)
					tr.Resources = append(tr.Resources, auditinternal.GroupResources{Group: gr.Group, Resources: gr.Resources, ResourceNames: gr.ResourceNames})
				}
			case 1:
				mr.NonResourceURLs = some(urls, 2)
				tr.NonResourceURLs = mr.NonResourceURLs
			}
			if r.IntN(3) == 0 {
				mr.Namespaces = some(nss, 2)
				tr.Namespaces = mr.Namespaces
			}
			rs := some(stages, 2)
			mr.OmitStages, tr.OmitStages = asMyStages(rs), asStages(rs)
			mine.Rules = append(mine.Rules, mr)
			theirs.Rules = append(theirs.Rules, tr)
		}
		eval := policy.NewPolicyRuleEvaluator(&theirs)
		for j := range requests {
			u := rbac.User{Name: pick(users), Groups: some(groups, 2)}
			req := rbac.Request{ResourceRequest: r.IntN(4) != 0, Verb: pick(verbs)}
			if req.ResourceRequest {
				req.APIGroup, req.Namespace, req.Name = pick(apiGroups[:5]), pick(nss), pick(append(names, ""))
				res := pick([]string{"pods", "pods/exec", "secrets", "serviceaccounts/token", "deployments/scale", "roles", "tokenreviews"})
				req.Resource, req.Subresource, _ = cut(res)
			} else {
				req.Path = pick([]string{"/healthz", "/healthz/etcd", "/metrics", "/api", "/api/v1", "/version"})
			}
			attrs := authorizer.AttributesRecord{
				User: &user.DefaultInfo{Name: u.Name, Groups: u.Groups}, Verb: req.Verb,
				ResourceRequest: req.ResourceRequest, APIGroup: req.APIGroup, Resource: req.Resource,
				Subresource: req.Subresource, Namespace: req.Namespace, Name: req.Name, Path: req.Path,
			}
			want := eval.EvaluatePolicyRule(attrs)
			got := mine.Evaluate(u, req)
			wantStages := fmt.Sprint(sortedStages(want.OmitStages))
			if string(got.Level) != string(want.Level) || fmt.Sprint(got.OmitStages) != wantStages {
				t.Fatalf("policy %d request %d: %+v by %+v\npolicy %+v\ngot level %s omit %v, API server level %s omit %s",
					i, j, req, u, theirs, got.Level, got.OmitStages, want.Level, wantStages)
			}
		}
	}
}

func cut(res string) (string, string, bool) {
	for i := range res {
		if res[i] == '/' {
			return res[:i], res[i+1:], true
		}
	}
	return res, "", false
}

func asStages(s []string) []auditinternal.Stage {
	var out []auditinternal.Stage
	for _, x := range s {
		out = append(out, auditinternal.Stage(x))
	}
	return out
}

func asMyStages(s []string) []audit.Stage {
	var out []audit.Stage
	for _, x := range s {
		out = append(out, audit.Stage(x))
	}
	return out
}

// sortedStages lists stages in the order of their life, as Evaluate does.
func sortedStages(s []auditinternal.Stage) []audit.Stage {
	var out []audit.Stage
	for _, st := range []audit.Stage{audit.StageRequestReceived, audit.StageResponseStarted, audit.StageResponseComplete, audit.StagePanic} {
		if slices.Contains(s, auditinternal.Stage(st)) {
			out = append(out, st)
		}
	}
	return out
}
