package rbac

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// authenticationGroup is where the impersonation filter asks about uids and
// userextras.
const authenticationGroup = "authentication.k8s.io"

// unreal explains why an atom granted at scope names something the API
// server never asks the authorizer, or returns "". Such atoms are routine
// parts of real rules (the built-in view role grants get, list and watch
// on pods/log), so findings leave them out without a word; only a rule made
// of nothing else gets an rbac.inert note. Two shapes, both from the API
// server's source:
//
//   - list and deletecollection on a subresource. The request-info
//     resolver (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go)
//     turns GET into list or watch, and DELETE into deletecollection, only
//     when the path names no object; a subresource path always does
//     (…/pods/NAME/log), and the one way to leave the name out, an empty
//     segment (…/pods//log), is refused by every handler for want of a
//     name. A named subresource is asked as get, create, update, patch,
//     delete, or watch on the deprecated /watch/ path, so watch stays.
//   - impersonate on anything but what the impersonation filter
//     (k8s.io/apiserver/pkg/endpoints/filters/impersonation) asks: see
//     impersonationTargets. No other check uses the verb, and a resource
//     request cannot carry it: the resolver maps HTTP methods to fixed
//     verbs.
//
// Non-resource URLs are never unreal: their verb is the HTTP method, and any
// method reaches the authorizer.
func unreal(a rbacv1.PolicyRule, scope string) string {
	if len(a.NonResourceURLs) > 0 || len(a.Verbs) != 1 || len(a.APIGroups) != 1 || len(a.Resources) != 1 {
		return ""
	}
	verb, group, res := a.Verbs[0], a.APIGroups[0], a.Resources[0]
	switch verb {
	case "list", "deletecollection":
		if strings.Contains(res, "/") {
			return fmt.Sprintf("a subresource is always requested through one named object, so the API server asks get or watch on %s, never %s", res, verb)
		}
	case "impersonate":
		if len(impersonationTargets(a, scope)) > 0 {
			return ""
		}
		if scope != "" && impersonable(group, res) {
			return fmt.Sprintf("within a namespace the API server asks impersonate only about serviceaccounts, never about %s", groupResource(group, res))
		}
		return fmt.Sprintf("the API server asks impersonate only about users, groups and serviceaccounts (core group) and uids and userextras (authentication.k8s.io), never about %s", groupResource(group, res))
	}
	return ""
}

// impersonationTargets are the attributes of the impersonation filter
// (legacy mode, verb impersonate) that an impersonate atom granted at scope
// can match, each as a rule of the same verb and names: users and groups
// in the core group, asked without namespace; serviceaccounts in the core
// group, asked in the account's namespace; uids, and userextras with the
// extra's key as subresource (empty when the header names no key), in
// authentication.k8s.io, without namespace. What an impersonate atom
// grants is exactly what these grant: "impersonate */*" in a namespace is
// "impersonate serviceaccounts" there, and nothing more.
func impersonationTargets(a rbacv1.PolicyRule, scope string) []rbacv1.PolicyRule {
	if len(a.NonResourceURLs) > 0 || len(a.APIGroups) != 1 || len(a.Resources) != 1 {
		return nil
	}
	group, res := a.APIGroups[0], a.Resources[0]
	core, auth := group == "" || group == rbacv1.APIGroupAll, group == authenticationGroup || group == rbacv1.APIGroupAll
	var out []rbacv1.PolicyRule
	add := func(g, r string) {
		t := a
		t.APIGroups, t.Resources = []string{g}, []string{r}
		out = append(out, t)
	}
	if core && (res == "serviceaccounts" || res == rbacv1.ResourceAll) {
		add("", "serviceaccounts")
	}
	if scope != "" {
		return out
	}
	for _, r := range []string{"users", "groups"} {
		if core && (res == r || res == rbacv1.ResourceAll) {
			add("", r)
		}
	}
	if !auth {
		return out
	}
	base, key, sub := strings.Cut(res, "/")
	switch {
	case res == rbacv1.ResourceAll:
		add(authenticationGroup, rbacv1.ResourceAll) // every uid and every extra's key
	case res == "uids" || res == "userextras":
		add(authenticationGroup, res)
	case sub && key != "" && (base == "userextras" || base == rbacv1.ResourceAll):
		// "*/key" matches userextras/key as it matches any resource's key.
		add(authenticationGroup, "userextras/"+key)
	}
	return out
}

// impersonable reports whether the impersonation filter can ask
// impersonate on group/res at all.
func impersonable(group, res string) bool {
	return len(impersonationTargets(rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{res}}, "")) > 0
}

// standardVerbs are the verbs the request-info resolver gives resource
// requests, in the order kubectl and the docs list them. Its "proxy" path
// prefix is left out: no route serves it since Kubernetes 1.10.
var standardVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// WildcardVerbs are the verbs a "*" in a rule stands for on group/resource
// when a change takes only part of it away: the standard verbs of a
// request (get and watch but not list or deletecollection on a
// subresource), plus those the API server's own checks ask about that
// resource: bind and escalate on roles and clusterroles, impersonate
// where the impersonation filter asks it, approve, sign and attest on
// certificates.k8s.io signers, attest on authentication.k8s.io
// admissionReviewAPIGroups. Verbs only extensions ask through
// SubjectAccessReviews are not spelled out; when every verb of the list is
// lost, a decrease keeps the "*", which covers them too.
func WildcardVerbs(group, resource string) []string {
	in := func(g string, rs ...string) bool {
		return (group == g || group == rbacv1.APIGroupAll) && (resource == rbacv1.ResourceAll || slices.Contains(rs, resource))
	}
	out := slices.Clone(standardVerbs)
	if strings.Contains(resource, "/") {
		out = slices.DeleteFunc(out, func(v string) bool { return v == "list" || v == "deletecollection" })
	}
	if in(Group, "roles", "clusterroles") {
		out = append(out, "bind", "escalate")
	}
	if impersonable(group, resource) {
		out = append(out, "impersonate")
	}
	if in("certificates.k8s.io", "signers") {
		out = append(out, "approve", "sign", "attest")
	} else if in(authenticationGroup, "admissionReviewAPIGroups") {
		out = append(out, "attest")
	}
	return out
}
