package audit

import (
	"strings"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Watched is a request the cluster must log: minting or checking
// tokens, writing RBAC, impersonating, reading secrets, running commands
// in pods, escalate and bind. Verbs that are one kind of act (the writes
// of one resource) are watched together: one finding says which of them
// stop being logged.
type Watched struct {
	Verbs []string
	rbac.Request
	// Named requests are asked with each name the policies mention too.
	Named bool
}

// Name reads the request as RBAC rules are written: "create
// serviceaccounts/token", "get,list,watch secrets".
func (w Watched) Name() string { return permissionOf(w.Verbs, w.Request).String() }

// WatchedRequests is the fixed set of requests whose logging is checked.
// Namespaces are filled in by the probes.
var WatchedRequests = func() []Watched {
	var out []Watched
	add := func(verbs, group, resource, sub string, namespaced, named bool) {
		r := rbac.Request{ResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub}
		if namespaced {
			r.Namespace = "-" // replaced by each probed namespace
		}
		out = append(out, Watched{Verbs: strings.Split(verbs, ","), Request: r, Named: named})
	}
	add("create", "", "serviceaccounts", "token", true, true)
	add("create", "authentication.k8s.io", "tokenreviews", "", false, false)
	add("create", "authorization.k8s.io", "subjectaccessreviews", "", false, false)
	for _, res := range []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"} {
		add("create,update,patch,delete", rbac.Group, res, "", res == "roles" || res == "rolebindings", true)
	}
	add("escalate,bind", rbac.Group, "roles", "", true, true)
	add("escalate,bind", rbac.Group, "clusterroles", "", false, true)
	add("impersonate", "", "users", "", false, true)
	add("impersonate", "", "groups", "", false, true)
	add("impersonate", "", "serviceaccounts", "", true, true)
	add("get,list,watch", "", "secrets", "", true, true)
	// kubectl exec and attach POST (SPDY) or GET (WebSocket).
	add("create,get", "", "pods", "exec", true, true)
	add("create,get", "", "pods", "attach", true, true)
	return out
}()

// permissionOf is the request with verbs as a permission of a finding.
func permissionOf(verbs []string, r rbac.Request) report.Permission {
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	return report.Permission{Verbs: verbs, APIGroups: []string{r.APIGroup}, Resources: []string{res}, ResourceNames: []string{}, NonResourceURLs: []string{}}
}
