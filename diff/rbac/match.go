package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Request is one authorization request, as the API server's request-info
// resolver produces it.
type Request struct {
	ResourceRequest bool
	Verb            string
	// Resource requests.
	APIGroup, Resource, Subresource, Name, Namespace string
	// Non-resource requests.
	Path string
}

// RuleAllows reports whether rule allows r, exactly as the RBAC authorizer's
// RuleAllows does (pkg/apis/rbac/v1/evaluation_helpers.go).
func RuleAllows(rule rbacv1.PolicyRule, r Request) bool {
	if !verbMatches(rule.Verbs, r.Verb) {
		return false
	}
	if !r.ResourceRequest {
		return nonResourceURLMatches(rule.NonResourceURLs, r.Path)
	}
	combined := r.Resource
	if r.Subresource != "" {
		combined += "/" + r.Subresource
	}
	return apiGroupMatches(rule.APIGroups, r.APIGroup) &&
		resourceMatches(rule.Resources, combined, r.Subresource) &&
		resourceNameMatches(rule.ResourceNames, r.Name)
}

func verbMatches(verbs []string, verb string) bool {
	for _, v := range verbs {
		if v == rbacv1.VerbAll || v == verb {
			return true
		}
	}
	return false
}

func apiGroupMatches(groups []string, group string) bool {
	for _, g := range groups {
		if g == rbacv1.APIGroupAll || g == group {
			return true
		}
	}
	return false
}

// resourceMatches: "*" matches every resource and subresource; "res/sub"
// matches exactly; "*/sub" matches sub of any resource. "pods/*" is not a
// pattern: it is compared literally and so matches no real request.
func resourceMatches(resources []string, combined, subresource string) bool {
	for _, r := range resources {
		if r == rbacv1.ResourceAll || r == combined {
			return true
		}
		if subresource != "" && len(r) == len(subresource)+2 && strings.HasPrefix(r, "*/") && strings.HasSuffix(r, subresource) {
			return true
		}
	}
	return false
}

func resourceNameMatches(names []string, name string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// nonResourceURLMatches: "*", an exact match, or a prefix when the rule ends
// in "*" ("/api/*" matches "/api/v1" but not "/api").
func nonResourceURLMatches(urls []string, path string) bool {
	for _, u := range urls {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}

// clusterScoped lists the built-in resources that live outside namespaces,
// by API group. Requests for them carry no namespace, so a RoleBinding can
// never grant them. CustomResourceDefinitions in the tree add to this.
var clusterScoped = map[string][]string{
	"": {"nodes", "namespaces", "persistentvolumes", "componentstatuses"},
	"admissionregistration.k8s.io": {"mutatingwebhookconfigurations", "validatingwebhookconfigurations",
		"validatingadmissionpolicies", "validatingadmissionpolicybindings",
		"mutatingadmissionpolicies", "mutatingadmissionpolicybindings"},
	"apiextensions.k8s.io":         {"customresourcedefinitions"},
	"apiregistration.k8s.io":       {"apiservices"},
	"authentication.k8s.io":        {"tokenreviews", "selfsubjectreviews", "uids", "userextras"},
	"authorization.k8s.io":         {"subjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews"},
	"certificates.k8s.io":          {"certificatesigningrequests", "clustertrustbundles", "signers"},
	"flowcontrol.apiserver.k8s.io": {"flowschemas", "prioritylevelconfigurations"},
	"internal.apiserver.k8s.io":    {"storageversions"},
	"metrics.k8s.io":               {"nodes"},
	"snapshot.storage.k8s.io":      {"volumesnapshotclasses", "volumesnapshotcontents"},
	"networking.k8s.io":            {"ingressclasses", "ipaddresses", "servicecidrs"},
	"node.k8s.io":                  {"runtimeclasses"},
	"policy":                       {"podsecuritypolicies"},
	"rbac.authorization.k8s.io":    {"clusterroles", "clusterrolebindings"},
	"resource.k8s.io":              {"deviceclasses", "resourceslices", "devicetaintrules", "resourcepoolstatusrequests"},
	"scheduling.k8s.io":            {"priorityclasses"},
	"storage.k8s.io":               {"csidrivers", "csinodes", "storageclasses", "volumeattachments", "volumeattributesclasses"},
	"storagemigration.k8s.io":      {"storageversionmigrations"},
}

var clusterScopedSet = func() map[string]bool {
	m := map[string]bool{}
	for g, rs := range clusterScoped {
		for _, r := range rs {
			m[g+"/"+r] = true
		}
	}
	// users, groups and serviceaccounts are impersonated cluster-wide.
	m["/users"], m["/groups"] = true, true
	return m
}()

// IsClusterScoped reports whether a built-in resource (or subresource of
// one) is cluster-scoped.
func IsClusterScoped(group, resource string) bool {
	res, _, _ := strings.Cut(resource, "/")
	return clusterScopedSet[group+"/"+res]
}

// bindInNamespace reports whether verb on res is the check the API server
// makes before a RoleBinding in a namespace may reference a ClusterRole its
// author does not hold: "bind" on clusterroles, asked with the binding's
// namespace (pkg/registry/rbac/escalation_check.go, BindingAuthorized). So a
// RoleBinding in N granting bind on clusterroles is real, in N, although
// clusterroles are cluster-scoped.
func bindInNamespace(group, res, verb string) bool {
	return group == "rbac.authorization.k8s.io" && res == "clusterroles" && (verb == "bind" || verb == "*")
}

// namespaceSelf reports whether verb on res (namespaces, or its status or
// finalize subresource) is a request on one Namespace object, which carries
// the namespace's own name as its namespace (requestinfo.go, for any
// method, and for the deprecated /api/v1/watch/namespaces/foo path too), so
// that a RoleBinding in foo can grant it on namespace foo.
func namespaceSelf(res, verb string) bool {
	switch verb {
	case "get", "watch", "update", "patch", "delete", "*":
		return res == "namespaces" || res == "namespaces/status" || res == "namespaces/finalize"
	}
	return false
}
