package conformance

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/rbacguard/rbacguard/diff/rbac"
)

// Fresh values that no graph mentions, so that wildcards have something
// to match that no explicit rule does.
const (
	freshVerb     = "frobnicate"
	freshGroup    = "example.com"
	freshResource = "widgets"
	freshName     = "zz-other"
	freshNS       = "zz-other-ns"
)

// nameless verbs act on a collection: the request carries no name.
var nameless = map[string]bool{"list": true, "watch": true, "create": true, "deletecollection": true}

// namespaceSelf are the requests on a Namespace object, which the
// request-info resolver gives the namespace's own name as namespace.
// The path decides, not the method, so every method reaches the
// authorizer (the route may answer 405 afterwards); watch comes from the
// deprecated /api/v1/watch/namespaces/X path.
var namespaceSelf = map[string]bool{"get": true, "update": true, "patch": true, "delete": true, "watch": true}

func expandVerbs(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v == rbacv1.VerbAll {
			out = append(out, "get", "list", "watch", "create", "patch", "delete", "deletecollection", "escalate", "impersonate", freshVerb)
			continue
		}
		out = append(out, v)
	}
	return out
}

func expandGroups(gs []string) []string {
	var out []string
	for _, g := range gs {
		switch g {
		case rbacv1.APIGroupAll:
			out = append(out, "", "apps", "extensions", "authentication.k8s.io", freshGroup)
		case "apps":
			out = append(out, "apps", "extensions")
		case "extensions":
			out = append(out, "extensions", "apps")
		default:
			out = append(out, g)
		}
	}
	return out
}

// resourcePair is a resource and subresource of a request.
type resourcePair struct{ res, sub string }

func expandResources(rs []string) []resourcePair {
	var out []resourcePair
	for _, r := range rs {
		res, sub, hasSub := strings.Cut(r, "/")
		switch {
		case r == rbacv1.ResourceAll:
			out = append(out, resourcePair{"pods", ""}, resourcePair{"secrets", ""}, resourcePair{"nodes", ""},
				resourcePair{"namespaces", ""}, resourcePair{"deployments", ""}, resourcePair{"pods", "exec"}, resourcePair{freshResource, ""},
				// "*" covers subresources no built-in role grants, whose
				// create names its parent.
				resourcePair{freshResource, "status"},
				// What the impersonation filter asks about.
				resourcePair{"serviceaccounts", ""}, resourcePair{"users", ""}, resourcePair{"groups", ""},
				resourcePair{"uids", ""}, resourcePair{"userextras", "scopes"})
		case res == "*" && sub == "*":
			out = append(out, resourcePair{"pods", "status"})
		case res == "*":
			out = append(out, resourcePair{"deployments", sub}, resourcePair{freshResource, sub}, resourcePair{"userextras", sub})
		case sub == "*":
			out = append(out, resourcePair{res, ""}, resourcePair{res, "status"})
		case hasSub:
			out = append(out, resourcePair{res, sub}, resourcePair{res, ""})
		default:
			out = append(out, resourcePair{res, ""}, resourcePair{res, "status"})
		}
	}
	return out
}

func expandURLs(us []string) []string {
	var out []string
	for _, u := range us {
		switch {
		case u == "*":
			out = append(out, "/zz")
		case strings.HasSuffix(u, "*"):
			p := strings.TrimRight(u, "*")
			out = append(out, p, p+"zz", strings.TrimSuffix(p, "/"))
		default:
			out = append(out, u, u+"/zz")
		}
	}
	return out
}

// realistic returns the requests the API server would actually make of
// verb on group/res/sub with name in namespace ns (zero or more), as
// k8s.io/apiserver/pkg/endpoints/request/requestinfo.go derives them: no
// name on create (of a collection) and deletecollection; list and watch
// carry a name only from fieldSelector=metadata.name=X; no namespace on
// cluster-scoped resources; and the namespace object's own name as
// namespace for requests on /api/v1/namespaces/X (get, update, patch,
// delete and the deprecated /api/v1/watch/namespaces/X, on the object and
// its status and finalize subresources).
//
// A subresource is addressed through one named object in a namespace (for
// a namespaced resource): requestinfo makes list, watch or deletecollection
// of a GET or DELETE only when the path names no object, and the one such
// subresource path, an empty segment (…/pods//log), is refused by every
// handler (handlers.ContextBasedNaming: "name must be provided"). So a
// subresource sees get, create, update, patch, delete and, named, watch
// (the deprecated /watch/ path), never list or deletecollection.
//
// impersonate comes from nowhere but the impersonation filter
// (k8s.io/apiserver/pkg/endpoints/filters/impersonation, legacy mode): a
// resource request's verb is its HTTP method's, so only the filter's own
// attributes are realistic.
func realistic(verb, group string, rp resourcePair, name, ns string) []rbac.Request {
	r := rbac.Request{ResourceRequest: true, Verb: verb, APIGroup: group, Resource: rp.res, Subresource: rp.sub}
	if verb == "impersonate" {
		return impersonation(r, name, ns)
	}
	switch {
	case rp.sub != "" && (verb == "list" || verb == "deletecollection"):
		return nil
	case rp.sub == "" && (verb == "list" || verb == "watch"):
		r.Name = name // "" or from the field selector
	case verb == "deletecollection" || verb == "create" && rp.sub == "":
	case name == "":
		return nil
	default:
		r.Name = name
	}
	if group == "" && rp.res == "namespaces" {
		out := []rbac.Request{r} // collection requests and field selectors: cluster-wide
		if r.Name != "" && namespaceSelf[verb] && (rp.sub == "" || rp.sub == "status" || rp.sub == "finalize") {
			r.Namespace = r.Name
			if verb == "watch" && rp.sub == "" {
				out = append(out, r) // also ?watch&fieldSelector=metadata.name=X
			} else {
				out = []rbac.Request{r}
			}
		}
		return out
	}
	if clusterScoped(group, rp.res) {
		return []rbac.Request{r}
	}
	if ns == "" {
		// A namespaced resource is requested without a namespace only to
		// list or watch it across all namespaces.
		if verb != "list" && verb != "watch" || rp.sub != "" {
			return nil
		}
	}
	r.Namespace = ns
	return []rbac.Request{r}
}

// impersonation returns the attributes the impersonation filter asks
// (legacy mode, verb impersonate) that match r with name in ns: users and
// groups in the core group, without namespace; serviceaccounts in the core
// group, in the account's namespace; uids, and userextras with the extra's
// key as subresource, in authentication.k8s.io, without namespace. A
// group or an extra's value may be empty (an empty header value); a user
// or uid may not (the header then asks nothing).
func impersonation(r rbac.Request, name, ns string) []rbac.Request {
	r.Name = name
	switch {
	case r.APIGroup == "" && r.Subresource == "" && (r.Resource == "users" || r.Resource == "groups"):
		if ns != "" || r.Resource == "users" && name == "" {
			return nil
		}
	case r.APIGroup == "" && r.Subresource == "" && r.Resource == "serviceaccounts":
		if ns == "" || name == "" {
			return nil
		}
		r.Namespace = ns
	case r.APIGroup == "authentication.k8s.io" && r.Subresource == "" && r.Resource == "uids":
		if ns != "" || name == "" {
			return nil
		}
	case r.APIGroup == "authentication.k8s.io" && r.Resource == "userextras":
		if ns != "" {
			return nil
		}
	default:
		return nil
	}
	return []rbac.Request{r}
}

type vocabulary struct {
	namespaces []string // every namespace the graphs mention, plus a fresh one and ""
	reqs       []rbac.Request
	users      []*user.DefaultInfo
}

func reqKey(r rbac.Request) string {
	if !r.ResourceRequest {
		return "url|" + r.Verb + "|" + r.Path
	}
	return strings.Join([]string{r.Verb, r.APIGroup, r.Resource, r.Subresource, r.Name, r.Namespace}, "|")
}

func rulesOf(p Policy) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range p.ClusterRoles {
		out = append(out, r.Rules...)
	}
	for _, r := range p.Roles {
		out = append(out, r.Rules...)
	}
	return out
}

// probeRules stand for the built-in roles a graph can bind, whose rules
// are too many to enumerate.
var probeRules = []rbacv1.PolicyRule{
	{Verbs: []string{"get", "create"}, APIGroups: []string{""}, Resources: []string{"secrets", "pods/exec", "serviceaccounts/token", "configmaps"}},
	{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"serviceaccounts"}},
	{Verbs: []string{"create", "list"}, APIGroups: []string{"rbac.authorization.k8s.io", "apps"}, Resources: []string{"rolebindings", "deployments/scale"}},
	{Verbs: []string{"create"}, APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews"}},
	{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/version", "/api"}},
}

func namespacesOf(ps ...Policy) []string {
	set := map[string]bool{freshNS: true}
	for _, p := range ps {
		for _, r := range p.Roles {
			set[r.Namespace] = true
		}
		for _, b := range p.RoleBindings {
			set[b.Namespace] = true
			for _, s := range b.Subjects {
				if s.Namespace != "" {
					set[s.Namespace] = true
				}
			}
		}
		for _, b := range p.ClusterRoleBindings {
			for _, s := range b.Subjects {
				if s.Namespace != "" {
					set[s.Namespace] = true
				}
			}
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
}

// requestsFor expands one rule into the concrete requests it names, and
// their near misses, in the namespaces nss.
func requestsFor(rule rbacv1.PolicyRule, nss []string, add func(rbac.Request)) {
	verbs := append(expandVerbs(rule.Verbs), "get", "list", "update")
	if len(rule.NonResourceURLs) > 0 {
		for _, v := range append(expandVerbs(rule.Verbs), "get", "post") {
			for _, u := range expandURLs(rule.NonResourceURLs) {
				add(rbac.Request{Verb: v, Path: u})
			}
		}
		return
	}
	names := append(slices.Clone(rule.ResourceNames), freshName, "")
	for _, v := range verbs {
		for _, g := range expandGroups(rule.APIGroups) {
			for _, rp := range expandResources(rule.Resources) {
				for _, n := range names {
					if g == "" && rp.res == "namespaces" {
						for _, ns := range nss {
							for _, r := range realistic(v, g, rp, cmp.Or(n, ns), "") {
								add(r)
							}
						}
						continue
					}
					for _, ns := range append(nss, "") {
						for _, r := range realistic(v, g, rp, n, ns) {
							add(r)
						}
					}
				}
			}
		}
	}
}

// newVocabulary collects the requests and users of a base/head pair,
// sampling at most max requests with r.
func newVocabulary(base, head Policy, r *rand.Rand, max int) *vocabulary {
	v := &vocabulary{namespaces: namespacesOf(base, head)}
	seen := map[string]bool{}
	add := func(q rbac.Request) {
		k := reqKey(q)
		if !seen[k] {
			seen[k] = true
			v.reqs = append(v.reqs, q)
		}
	}
	for _, rule := range append(append(rulesOf(base), rulesOf(head)...), probeRules...) {
		requestsFor(rule, v.namespaces, add)
	}
	slices.SortFunc(v.reqs, func(a, b rbac.Request) int { return strings.Compare(reqKey(a), reqKey(b)) })
	if len(v.reqs) > max {
		r.Shuffle(len(v.reqs), func(i, j int) { v.reqs[i], v.reqs[j] = v.reqs[j], v.reqs[i] })
		v.reqs = v.reqs[:max]
	}
	v.users = usersOf(base, head)
	return v
}

// usersOf returns one user per subject the graphs mention and one fresh
// member of every group, each with the groups it would really carry.
func usersOf(ps ...Policy) []*user.DefaultInfo {
	byName := map[string]*user.DefaultInfo{}
	addUser := func(u *user.DefaultInfo) {
		if _, ok := byName[u.Name]; !ok {
			byName[u.Name] = u
		}
	}
	subject := func(s rbacv1.Subject, bindingNS string) {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			ns := cmp.Or(s.Namespace, bindingNS)
			if ns != "" {
				addUser(ServiceAccountUser(ns, s.Name))
			}
		case rbacv1.UserKind:
			if rest, ok := strings.CutPrefix(s.Name, "system:serviceaccount:"); ok {
				if ns, name, ok := strings.Cut(rest, ":"); ok {
					addUser(ServiceAccountUser(ns, name))
					return
				}
			}
			addUser(&user.DefaultInfo{Name: s.Name, Groups: []string{user.AllAuthenticated}})
		case rbacv1.GroupKind:
			switch {
			case s.Name == user.SystemPrivilegedGroup:
				// system:masters bypasses RBAC: not a question for either side.
			case s.Name == "system:serviceaccounts":
				addUser(ServiceAccountUser("zz-fresh-ns", "fresh"))
			case strings.HasPrefix(s.Name, "system:serviceaccounts:"):
				addUser(ServiceAccountUser(strings.TrimPrefix(s.Name, "system:serviceaccounts:"), "fresh"))
			case s.Name == user.AllUnauthenticated:
				addUser(&user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}})
			case s.Name == user.AllAuthenticated:
				addUser(&user.DefaultInfo{Name: "fresh-user", Groups: []string{user.AllAuthenticated}})
			default:
				addUser(&user.DefaultInfo{Name: "fresh-member-of-" + s.Name, Groups: []string{s.Name, user.AllAuthenticated}})
			}
		}
	}
	for _, p := range ps {
		for _, b := range p.RoleBindings {
			for _, s := range b.Subjects {
				subject(s, b.Namespace)
			}
		}
		for _, b := range p.ClusterRoleBindings {
			for _, s := range b.Subjects {
				subject(s, "")
			}
		}
	}
	// Subjects of built-in bindings, whose grants a graph changes when it
	// replaces a built-in role.
	addUser(&user.DefaultInfo{Name: "system:kube-controller-manager", Groups: []string{user.AllAuthenticated}})
	addUser(ServiceAccountUser("kube-system", "bootstrap-signer"))
	out := make([]*user.DefaultInfo, 0, len(byName))
	for _, u := range byName {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *user.DefaultInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}
