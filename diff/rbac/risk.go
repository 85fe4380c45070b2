package rbac

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/report"
)

// A risk is a class of dangerous requests (the severity table of the
// README's "Severity" section, which risks below implements). An atom is
// in the class when it allows any of
// the class's requests, so wildcards land in the worst class they reach.
type risk struct {
	severity  report.Severity
	verbs     []string
	group     []string
	resources []string // "resource" or "resource/subresource"
	cluster   bool     // only when granted cluster-wide
	namespace string   // only when granted in this namespace
	why       string
	// named, when set, is the severity for an atom restricted to one name.
	named report.Severity
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}
	workloads  = []string{"deployments", "daemonsets", "statefulsets", "replicasets"}
)

// risks are tried in order; the first that matches wins.
var risks = []risk{
	{severity: report.Critical, verbs: []string{"escalate"}, group: []string{Group}, resources: []string{"roles", "clusterroles"},
		why: "can write roles with permissions it does not hold itself: a direct path to cluster-admin"},
	{severity: report.Critical, verbs: []string{"bind"}, group: []string{Group}, resources: []string{"roles", "clusterroles"},
		why: "can bind any role, cluster-admin included, without holding its permissions"},
	{severity: report.Critical, verbs: []string{"impersonate"}, group: []string{""}, resources: []string{"users", "groups", "serviceaccounts"},
		why: "can act as another user, group or service account — system:masters included"},
	{severity: report.Critical, verbs: []string{"impersonate"}, group: []string{"authentication.k8s.io"}, resources: []string{"uids", "userextras/scopes"},
		why: "can forge the identity attributes the API server trusts"},
	{severity: report.Critical, verbs: readVerbs, group: []string{""}, resources: []string{"secrets"}, cluster: true,
		why: "reads every Secret in the cluster, including every service account's token"},
	{severity: report.Critical, verbs: readVerbs, group: []string{""}, resources: []string{"secrets"}, namespace: "kube-system",
		why: "reads the Secrets of kube-system, where the control plane's tokens live"},
	{severity: report.Critical, verbs: []string{"get", "create"}, group: []string{""}, resources: []string{"nodes/proxy"},
		why: "reaches every kubelet's API: run commands in any pod on the node, past audit and admission"},
	{severity: report.Critical, verbs: []string{"create"}, group: []string{""}, resources: []string{"serviceaccounts/token"},
		why: "mints tokens for any service account in scope and acts with its permissions"},
	{severity: report.Critical, verbs: []string{"update", "patch"}, group: []string{"certificates.k8s.io"}, resources: []string{"certificatesigningrequests/approval"},
		why: "approves client certificates for any name, system components included"},
	{severity: report.Critical, verbs: []string{"approve", "sign"}, group: []string{"certificates.k8s.io"}, resources: []string{"signers"},
		why: "signs or approves certificates for any identity under that signer"},
	{severity: report.Critical, verbs: writeVerbs, group: []string{"admissionregistration.k8s.io"}, resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"},
		why: "can route every admitted object through its own webhook: read it, rewrite it or switch admission checks off"},

	{severity: report.High, verbs: readVerbs, group: []string{""}, resources: []string{"secrets"}, named: report.Medium,
		why: "reads Secrets of the namespace, including other service accounts' tokens"},
	{severity: report.High, verbs: []string{"create", "get"}, group: []string{""}, resources: []string{"pods/exec", "pods/attach", "pods/portforward"},
		why: "runs commands in, attaches to or tunnels into running pods and so acts with their service accounts"},
	{severity: report.High, verbs: []string{"update", "patch"}, group: []string{""}, resources: []string{"pods/ephemeralcontainers"},
		why: "adds a debug container, privileged if it likes, to any running pod"},
	{severity: report.High, verbs: []string{"create", "update", "patch"}, group: []string{""}, resources: []string{"pods", "replicationcontrollers"},
		why: "runs any image as any service account of the namespace and mounts its Secrets"},
	{severity: report.High, verbs: []string{"create", "update", "patch"}, group: []string{"apps", "extensions"}, resources: workloads,
		why: "runs any image as any service account of the namespace through a controller"},
	{severity: report.High, verbs: []string{"create", "update", "patch"}, group: []string{"batch"}, resources: []string{"jobs", "cronjobs"},
		why: "runs any image as any service account of the namespace through a Job"},
	{severity: report.High, verbs: writeVerbs, group: []string{Group}, resources: []string{"roles", "clusterroles", "rolebindings", "clusterrolebindings"},
		why: "rewrites who may do what: limited only by the escalation check, and fatal next to bind or escalate"},
	{severity: report.High, verbs: []string{"create"}, group: []string{""}, resources: []string{"persistentvolumes"},
		why: "can mount any node path through a hostPath PersistentVolume"},
	{severity: report.High, verbs: []string{"create", "update", "patch"}, group: []string{""}, resources: []string{"secrets"},
		why: "can create a service-account token Secret for any account of the namespace and read its never-expiring token"},
	{severity: report.High, verbs: writeVerbs, group: []string{"admissionregistration.k8s.io"}, resources: []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"},
		why: "can weaken or switch off in-cluster admission guardrails"},
	{severity: report.High, verbs: []string{"create", "update", "patch"}, group: []string{"apiextensions.k8s.io"}, resources: []string{"customresourcedefinitions"},
		why: "defines new API types, which existing wildcard grants then reach"},
	{severity: report.High, verbs: []string{"update", "patch"}, group: []string{""}, resources: []string{"namespaces"},
		why: "relabels namespaces, which can switch off Pod Security admission and NetworkPolicy selectors"},
}

// classify returns the severity of an atomic permission granted to s at
// scope ("" = cluster-wide) and a one-line reason a reviewer understands.
// A broad subject raises a risky permission, never a harmless one
// (the README's matrix, broadSeverity): reading one named ConfigMap is
// low even for everyone, listing Secrets is critical for anyone.
func classify(s subject, scope string, a rbacv1.PolicyRule) (report.Severity, string) {
	sev, why := classifyAtom(scope, a)
	switch {
	case everyone(s):
		return broadSeverity(s, sev, len(a.ResourceNames) > 0), fmt.Sprintf("granted to %s, that is to every %s: %s", s.name, everyoneWho(s), why)
	case s.kind == "Group" && strings.HasPrefix(s.name, groupServiceAccounts+":"):
		return broadSeverity(s, sev, len(a.ResourceNames) > 0), "granted to every service account of the namespace: " + why
	}
	return sev, why
}

// broadSeverity is the severity of an atom of severity sev granted to a
// group that many callers are in (named: the atom names its object):
//
//	granted alone      every SA of      every authenticated    every caller,
//	                   a namespace      caller, or every SA    unauthenticated too
//	critical           critical         critical               critical
//	high               high             critical               critical
//	medium             high             high                   critical
//	low, unnamed       low              medium                 high
//	low, one name      low              low                    medium
func broadSeverity(s subject, sev report.Severity, named bool) report.Severity {
	unauthenticated := s.name == groupUnauthenticated || s.kind == "User" && s.name == userAnonymous
	everyCaller := unauthenticated || s.name == groupAuthenticated || s.name == groupServiceAccounts
	steps := 0 // how far the subject raises sev
	switch {
	case unauthenticated:
		steps = 2
	case everyCaller:
		steps = 1
	case sev == report.Medium: // one namespace's accounts
		steps = 1
	}
	if sev == report.Low && named {
		steps--
	}
	if !everyCaller && sev != report.Medium {
		return sev
	}
	for range steps {
		sev = sev.Raised()
	}
	return sev
}

func everyoneWho(s subject) string {
	switch s.name {
	case groupServiceAccounts:
		return "service account in the cluster"
	case groupAuthenticated:
		return "authenticated caller"
	}
	return "caller, even unauthenticated"
}

func classifyAtom(scope string, a rbacv1.PolicyRule) (report.Severity, string) {
	verb := a.Verbs[0]
	if len(a.NonResourceURLs) > 0 {
		if isRead(verb) {
			return report.Low, "reads a non-resource endpoint of the API server"
		}
		return report.Medium, "writes to a non-resource endpoint of the API server"
	}
	if verb == "*" && a.APIGroups[0] == "*" && a.Resources[0] == "*" && len(a.ResourceNames) == 0 {
		if scope == "" {
			return report.Critical, whyFullCluster
		}
		return report.Critical, whyFullNamespace
	}
	for _, r := range risks {
		if r.cluster && scope != "" || r.namespace != "" && scope != r.namespace {
			continue
		}
		if allowsAny(a, r, scope) {
			if len(a.ResourceNames) > 0 && r.named != "" {
				return r.named, r.why + " (here only the one named " + a.ResourceNames[0] + ")"
			}
			return r.severity, r.why
		}
	}
	if isRead(verb) {
		return report.Low, "read-only access to non-sensitive resources"
	}
	return report.Medium, "can change or delete objects"
}

func isRead(verb string) bool { return verb == "get" || verb == "list" || verb == "watch" }

// allowsAny reports whether atom a, granted at scope, allows some request
// of risk r. A named atom is tried with its own name: reading one named
// Secret is still reading a Secret. Within a namespace, cluster-scoped
// requests cannot happen, so they do not count.
func allowsAny(a rbacv1.PolicyRule, r risk, scope string) bool {
	name := ""
	if len(a.ResourceNames) > 0 {
		name = a.ResourceNames[0]
	}
	for _, v := range r.verbs {
		for _, g := range r.group {
			for _, res := range r.resources {
				if scope != "" && IsClusterScoped(g, res) && !(g == "" && res == "namespaces") && !bindInNamespace(g, res, v) {
					continue // the namespace object itself and bind are the exceptions
				}
				resource, sub, _ := strings.Cut(res, "/")
				req := Request{ResourceRequest: true, Verb: v, APIGroup: g, Resource: resource, Subresource: sub, Name: name}
				if RuleAllows(a, req) {
					return true
				}
			}
		}
	}
	return false
}
