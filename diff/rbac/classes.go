package rbac

import (
	"slices"

	"github.com/rbacguard/rbacguard/diff/report"
)

// The reasons classifyAtom gives a grant of every verb on every resource of
// every group.
const (
	whyFullCluster   = "full control of the cluster, including every resource added later"
	whyFullNamespace = "full control of the namespace, including its Secrets, pods and RBAC"
)

// RiskClass is one row of the severity table as data, for a stage that
// restates the table in another language (diff/admission writes it as
// CEL), so that both say what classify says.
type RiskClass struct {
	Severity  report.Severity
	Verbs     []string
	APIGroups []string
	Resources []string // "resource" or "resource/subresource"
	// ClusterWide: the class holds only for a grant made cluster-wide.
	ClusterWide bool
	// Namespace: the class holds only for a grant in this namespace.
	Namespace string
	// Named is the severity of a grant restricted to one name, when it
	// differs.
	Named report.Severity
	Why   string
}

// RiskClasses returns the severity table in the order classify tries it:
// the first class a permission reaches decides its severity. A permission
// that reaches none is medium when it writes and low when it only reads;
// every verb on every resource of every group is critical (FullControlWhy).
func RiskClasses() []RiskClass {
	out := make([]RiskClass, len(risks))
	for i, r := range risks {
		out[i] = RiskClass{Severity: r.severity, Verbs: slices.Clone(r.verbs), APIGroups: slices.Clone(r.group),
			Resources: slices.Clone(r.resources), ClusterWide: r.cluster, Namespace: r.namespace, Named: r.named, Why: r.why}
	}
	return out
}

// FullControlWhy is the reason classify gives "*" verbs on "*" resources
// of "*" groups, cluster-wide or in a namespace.
func FullControlWhy(clusterWide bool) string {
	if clusterWide {
		return whyFullCluster
	}
	return whyFullNamespace
}

// ReachableInNamespace reports whether verb on resource of group can be
// granted by a RoleBinding: namespaced resources, the namespace object
// itself and bind on clusterroles (what allowsAny lets through).
func ReachableInNamespace(group, resource, verb string) bool {
	return !IsClusterScoped(group, resource) || group == "" && resource == "namespaces" || bindInNamespace(group, resource, verb)
}

// BroadGroups are the subjects every caller of a kind belongs to; a grant
// to one of them is critical whatever it grants (classify).
var BroadGroups = []string{groupAuthenticated, groupUnauthenticated, groupServiceAccounts}

// AnonymousUser is the user of unauthenticated requests.
const AnonymousUser = userAnonymous

// EveryoneWho says who a broad subject is, as classify does:
// "authenticated caller", "service account in the cluster" or "caller,
// even unauthenticated".
func EveryoneWho(name string) string { return everyoneWho(subject{name: name}) }

// BootstrapBinding is a binding of the API server's bootstrap policy, which
// the API server itself creates and reconciles at start.
type BootstrapBinding struct {
	Kind, Namespace, Name, RoleRef string
	// Subjects are "Kind name" of each subject: "Group system:authenticated".
	Subjects []string
}

// BootstrapBindings lists the bindings of the built-in bootstrap policy.
func BootstrapBindings() []BootstrapBinding {
	var out []BootstrapBinding
	for _, o := range bootstrap() {
		if o.Kind != "ClusterRoleBinding" && o.Kind != "RoleBinding" {
			continue
		}
		ref, _ := o.Body["roleRef"].(map[string]any)
		name, _ := ref["name"].(string)
		b := BootstrapBinding{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, RoleRef: name}
		subjects, _ := o.Body["subjects"].([]any)
		for _, s := range subjects {
			m, _ := s.(map[string]any)
			kind, _ := m["kind"].(string)
			name, _ := m["name"].(string)
			b.Subjects = append(b.Subjects, kind+" "+name)
		}
		out = append(out, b)
	}
	return out
}
