package admission

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// A class is one severity class a check can put an object in: the CLI's
// finding for it (kind and permission, to which the policy's severity
// rules and exemptions apply) and the words the CLI uses.
type class struct {
	finding report.Finding // Kind, Severity, Permission
	what    string         // "escalate on roles, clusterroles"
	why     string         // the CLI's risk line
	cond    string         // CEL over a rule r (rule checks only)
}

// A check decides one kind of problem on one object kind. Export turns
// each check (each of its severities, for rule checks) into a
// ValidatingAdmissionPolicy and its binding.
type check struct {
	name    string   // "clusterrole-rules", "binding-cluster-admin"
	targets []string // the object kinds it judges: "ClusterRole"
	rules   []admissionv1.NamedRuleWithOperations
	// rule checks: classes in classify order, judged per rule; the policy
	// is split by the severity each class ends up with.
	ruleSelect string // CEL over r: the rules the check judges
	classes    []class
	// object checks: one class, one expression (true admits).
	class      class
	variables  []admissionv1.Variable
	expression string
	message    string // CEL string expression
	// subject and workload write an exemption's pattern as a CEL
	// condition on the object ("" when the object has no such field, so
	// the pattern never matches, as in the CLI).
	subject  func(p policy.SubjectPattern) string
	workload func(p policy.WorkloadPattern) string
	// sameNamespace: the subject and workloads of a finding are in the
	// object's namespace, so an exemption naming only a namespace can be
	// the binding's namespaceSelector.
	sameNamespace bool
}

var (
	coreRule = func(ops []admissionv1.OperationType, group string, resources ...string) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: ops,
			Rule:       admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources},
		}}
	}
	createUpdate = []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}
	createOnly   = []admissionv1.OperationType{admissionv1.Create}
	readVerbs    = []string{"get", "list", "watch"}
)

// catalog returns every check, in the order Export writes them.
func catalog() []check {
	checks := []check{
		ruleCheck("Role", "roles"),
		ruleCheck("ClusterRole", "clusterroles"),
		clusterAdminCheck(),
		broadSubjectCheck(),
		namespaceAccountsCheck(),
	}
	checks = append(checks, defaultTokenChecks()...)
	return append(checks, tokenSecretCheck())
}

// ruleCheck judges the rules of a Role or ClusterRole that have "*" in
// verbs, apiGroups or resources, or grant escalate, bind or impersonate,
// as classify does: the first class of the severity table a rule reaches
// decides. A Role's scope is its namespace: cluster-scoped resources are
// out of its reach. A ClusterRole is judged cluster-wide for the
// cluster-scoped resources (which only a ClusterRoleBinding reaches), but
// classes that hold only cluster-wide for namespaced resources (reading
// every Secret) are left to the CLI, which sees the binding: a
// ClusterRole bound in one namespace must not be denied for them.
func ruleCheck(kind, resource string) check {
	namespaced := kind == "Role"
	c := check{
		name:    strings.ToLower(kind) + "-rules",
		targets: []string{kind},
		rules:   []admissionv1.NamedRuleWithOperations{coreRule(createUpdate, rbac.Group, resource)},
		ruleSelect: or(
			`r.verbs.exists(v, v in ["*", "escalate", "bind", "impersonate"])`,
			`r.?apiGroups.orValue([]).exists(g, g == "*")`,
			`r.?resources.orValue([]).exists(x, x == "*" || x.startsWith("*/"))`),
	}
	hasURLs := `size(r.?nonResourceURLs.orValue([])) > 0`
	allRead := `r.verbs.all(v, v in ` + list(readVerbs) + `)`
	if !namespaced {
		c.classes = append(c.classes,
			class{finding: grant(report.Low, perm([]string{"get"}, nil, nil, []string{"*"})), what: "reads of non-resource URLs",
				why: "reads a non-resource endpoint of the API server", cond: and(hasURLs, allRead)},
			class{finding: grant(report.Medium, perm([]string{"*"}, nil, nil, []string{"*"})), what: "writes to non-resource URLs",
				why: "writes to a non-resource endpoint of the API server", cond: hasURLs})
	}
	c.classes = append(c.classes, class{
		finding: grant(report.Critical, perm([]string{"*"}, []string{"*"}, []string{"*"}, nil)),
		what:    "every verb on every resource of every API group",
		why:     rbac.FullControlWhy(!namespaced),
		cond: and(`r.verbs.exists(v, v == "*")`, `r.?apiGroups.orValue([]).exists(g, g == "*")`,
			`r.?resources.orValue([]).exists(x, x == "*")`, `size(r.?resourceNames.orValue([])) == 0`),
	})
	for _, rc := range rbac.RiskClasses() {
		if rc.ClusterWide {
			continue
		}
		if rc.Namespace != "" && !namespaced {
			continue
		}
		resources := rc.Resources
		if namespaced {
			resources = slices.DeleteFunc(slices.Clone(resources), func(res string) bool { return !reachable(rc, res) })
			if len(resources) == 0 {
				continue
			}
		}
		reach := reachCEL(rc.Verbs, rc.APIGroups, resources)
		if rc.Namespace != "" {
			reach = and(`object.metadata.?namespace.orValue("") == `+quote(rc.Namespace), reach)
		}
		what := strings.Join(rc.Verbs, ", ") + " on " + strings.Join(resources, ", ")
		if rc.Named != "" {
			c.classes = append(c.classes, class{
				finding: grant(rc.Named, perm(rc.Verbs, rc.APIGroups, resources, nil)),
				what:    what + " (named objects only)",
				why:     rc.Why + " (here only the ones named)",
				cond:    and(reach, `size(r.?resourceNames.orValue([])) > 0`),
			})
		}
		c.classes = append(c.classes, class{finding: grant(rc.Severity, perm(rc.Verbs, rc.APIGroups, resources, nil)), what: what, why: rc.Why, cond: reach})
	}
	c.classes = append(c.classes,
		class{finding: grant(report.Low, perm(readVerbs, []string{"*"}, []string{"*"}, nil)), what: "reads through a wildcard",
			why: "read-only access to non-sensitive resources", cond: allRead},
		class{finding: grant(report.Medium, perm([]string{"*"}, []string{"*"}, []string{"*"}, nil)), what: "writes through a wildcard",
			why: "can change or delete objects", cond: "true"})
	return c
}

// reachable: a Role (granted in its namespace) can reach res for some
// verb of the class.
func reachable(rc rbac.RiskClass, res string) bool {
	for _, g := range rc.APIGroups {
		for _, v := range rc.Verbs {
			if rbac.ReachableInNamespace(g, res, v) {
				return true
			}
		}
	}
	return false
}

// reachCEL is true when rule r allows some request of verbs × groups ×
// resources, as RuleAllows matches: "*" matches any verb, group or
// resource (subresources included), "*/sub" the subresource sub of any
// resource; "pods/*" is literal. A rule is a product of its lists, so
// testing each list on its own is exact.
func reachCEL(verbs, groups, resources []string) string {
	res := []string{"*"}
	for _, x := range resources {
		res = append(res, x)
		if _, sub, ok := strings.Cut(x, "/"); ok {
			res = append(res, "*/"+sub)
		}
	}
	return and(
		`r.verbs.exists(v, v in `+list(append([]string{"*"}, verbs...))+`)`,
		`r.?apiGroups.orValue([]).exists(g, g in `+list(append([]string{"*"}, groups...))+`)`,
		`r.?resources.orValue([]).exists(x, x in `+list(uniq(res))+`)`)
}

func uniq(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func grant(sev report.Severity, p *report.Permission) report.Finding {
	return report.Finding{Kind: report.RBACIncrease, Severity: sev, Permission: p}
}

func perm(verbs, groups, resources, urls []string) *report.Permission {
	return &report.Permission{Verbs: verbs, APIGroups: groups, Resources: resources, NonResourceURLs: urls}
}

var bindingRules = []admissionv1.NamedRuleWithOperations{
	coreRule(createUpdate, rbac.Group, "rolebindings", "clusterrolebindings"),
}

// bindingSubjects: every subject of the binding matches p. A
// ServiceAccount without a namespace is in the binding's namespace.
func bindingSubjects(p policy.SubjectPattern) string {
	return `object.?subjects.orValue([]).all(s, ` + and(
		globCEL(p.Kind, "s.kind"),
		globCEL(p.Namespace, `(s.kind == "ServiceAccount" ? s.?namespace.orValue(object.metadata.?namespace.orValue("")) : "")`),
		globCEL(p.Name, "s.name")) + `)`
}

// notBootstrap admits the bindings of the API server's bootstrap policy
// that the check would otherwise judge: the API server creates and
// reconciles them itself at start.
func notBootstrap(keep func(rbac.BootstrapBinding) bool) string {
	var conds []string
	for _, b := range rbac.BootstrapBindings() {
		if !keep(b) {
			continue
		}
		conds = append(conds, and(`request.kind.kind == `+quote(b.Kind), `object.metadata.?namespace.orValue("") == `+quote(b.Namespace),
			`object.metadata.?name.orValue("") == `+quote(b.Name), `object.roleRef.name == `+quote(b.RoleRef)))
	}
	if len(conds) == 0 {
		return ""
	}
	return or(conds...)
}

func clusterAdminCheck() check {
	isAdmin := `object.roleRef.kind == "ClusterRole" && object.roleRef.name == "cluster-admin"`
	return check{
		name:    "binding-cluster-admin",
		targets: []string{"ClusterRoleBinding", "RoleBinding"},
		rules:   bindingRules,
		class: class{finding: grant(report.Critical, perm([]string{"*"}, []string{"*"}, []string{"*"}, nil)),
			what: "the built-in ClusterRole cluster-admin", why: rbac.FullControlWhy(true)},
		expression: or(notBootstrap(func(b rbac.BootstrapBinding) bool { return b.RoleRef == "cluster-admin" }), "!("+isAdmin+")"),
		message: objectName + ` + " binds the built-in ClusterRole cluster-admin: " + (request.kind.kind == "ClusterRoleBinding" ? ` +
			quote(rbac.FullControlWhy(true)) + ` : ` + quote(rbac.FullControlWhy(false)) + `)`,
		subject: bindingSubjects,
	}
}

func broadSubjectCheck() check {
	broad := `(s.kind == "Group" && s.name in ` + list(rbac.BroadGroups) + ` || s.kind == "User" && s.name == ` + quote(rbac.AnonymousUser) + `)`
	who := map[string]string{}
	for _, g := range append(slices.Clone(rbac.BroadGroups), rbac.AnonymousUser) {
		who[g] = rbac.EveryoneWho(g)
	}
	whoMap := "{"
	for _, g := range append(slices.Clone(rbac.BroadGroups), rbac.AnonymousUser) {
		whoMap += quote(g) + ": " + quote(who[g]) + ", "
	}
	whoMap = strings.TrimSuffix(whoMap, ", ") + "}"
	return check{
		name:    "binding-everyone",
		targets: []string{"ClusterRoleBinding", "RoleBinding"},
		rules:   bindingRules,
		class: class{finding: report.Finding{Kind: report.RBACIncrease, Severity: report.Critical},
			what: "a role to everyone", why: "whatever the role grants, every such caller holds it"},
		expression: or(notBootstrap(func(b rbac.BootstrapBinding) bool {
			return slices.ContainsFunc(b.Subjects, func(s string) bool {
				kind, name, _ := strings.Cut(s, " ")
				return kind == "Group" && slices.Contains(rbac.BroadGroups, name) || kind == "User" && name == rbac.AnonymousUser
			})
		}), `!object.?subjects.orValue([]).exists(s, `+broad+`)`),
		message: `object.subjects.filter(s, ` + broad + `).map(s, ` + objectName + ` + " grants " + object.roleRef.kind + " " + object.roleRef.name + " to " + s.name + ", that is to every " + ` +
			whoMap + `[s.name] + ": whatever the role grants, every such caller holds it")[0]`,
		subject: bindingSubjects,
	}
}

func namespaceAccountsCheck() check {
	all := `(s.kind == "Group" && s.name.startsWith("system:serviceaccounts:"))`
	return check{
		name:    "binding-namespace-serviceaccounts",
		targets: []string{"ClusterRoleBinding", "RoleBinding"},
		rules:   bindingRules,
		class: class{finding: report.Finding{Kind: report.RBACIncrease, Severity: report.High},
			what: "a role to every service account of a namespace", why: "granted to every service account of the namespace"},
		expression: `!object.?subjects.orValue([]).exists(s, ` + all + `)`,
		message:    `object.subjects.filter(s, ` + all + `).map(s, ` + objectName + ` + " grants " + object.roleRef.kind + " " + object.roleRef.name + " to " + s.name + ": granted to every service account of the namespace")[0]`,
		subject:    bindingSubjects,
	}
}

// defaultTokenChecks judge the objects that run pods, one check per place
// of the pod spec, so that each expression type-checks against its kinds'
// schema.
func defaultTokenChecks() []check {
	return []check{
		defaultTokenCheck("pod-default-token", "object.?spec", []string{"Pod"},
			coreRule(createUpdate, "", "pods")),
		defaultTokenCheck("template-default-token", "object.?spec.?template.?spec",
			[]string{"ReplicationController", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"},
			coreRule(createUpdate, "", "replicationcontrollers"),
			coreRule(createUpdate, "apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
			coreRule(createUpdate, "batch", "jobs")),
		defaultTokenCheck("cronjob-default-token", "object.?spec.?jobTemplate.?spec.?template.?spec", []string{"CronJob"},
			coreRule(createUpdate, "batch", "cronjobs")),
	}
}

func defaultTokenCheck(name, podSpec string, targets []string, rules ...admissionv1.NamedRuleWithOperations) check {
	const why = "every pod without its own account shares this token; give the workload its own ServiceAccount or set automountServiceAccountToken: false"
	return check{
		name:    name,
		targets: targets,
		rules:   rules,
		class: class{finding: report.Finding{Kind: report.TokenAutomount, Severity: report.Low},
			what: "the token of the namespace's default ServiceAccount", why: why},
		// The pod spec is reached afresh in each variable: an optional
		// value does not survive being a variable of its own.
		variables: []admissionv1.Variable{
			{Name: "account", Expression: podSpec + `.?serviceAccountName.orValue(` + podSpec + `.?serviceAccount.orValue(""))`},
			{Name: "automountSet", Expression: podSpec + `.?automountServiceAccountToken.hasValue()`},
			{Name: "automount", Expression: podSpec + `.?automountServiceAccountToken.orValue(true)`},
			// Pods of a controller are judged at the controller.
			{Name: "controlled", Expression: `object.metadata.?ownerReferences.orValue([]).exists(o, o.?controller.orValue(false) == true)`},
		},
		expression: `variables.controlled || !(variables.account in ["", "default"]) || !variables.automount`,
		message: objectName + ` + " runs as the default ServiceAccount of its namespace and holds its token " + (variables.automountSet ? "because its pod sets automountServiceAccountToken: true" : "by default (automountServiceAccountToken unset)") + ": " + ` +
			quote(why),
		subject: func(p policy.SubjectPattern) string {
			return and(globCEL(p.Kind, `"ServiceAccount"`), globCEL(p.Namespace, `object.metadata.?namespace.orValue("")`), globCEL(p.Name, `"default"`))
		},
		workload: func(p policy.WorkloadPattern) string {
			return and(globCEL(p.Kind, "request.kind.kind"), globCEL(p.Namespace, `object.metadata.?namespace.orValue("")`), globCEL(p.Name, `object.metadata.?name.orValue("")`))
		},
		sameNamespace: true,
	}
}

const tokenAccount = `object.metadata.?annotations[?"kubernetes.io/service-account.name"].orValue("")`

func tokenSecretCheck() check {
	return check{
		name:    "secret-legacy-token",
		targets: []string{"Secret"},
		rules:   []admissionv1.NamedRuleWithOperations{coreRule(createOnly, "", "secrets")},
		class: class{finding: report.Finding{Kind: report.TokenLegacySecret, Severity: report.High},
			what: "a legacy service-account token",
			why:  "the token controller fills this Secret with a token that never expires; whoever can read the Secret holds the account until the Secret is deleted"},
		expression: `object.?type.orValue("") != "kubernetes.io/service-account-token"`,
		message: objectName + ` + " is a legacy token Secret of ServiceAccount " + object.metadata.?namespace.orValue("") + "/" + ` + tokenAccount + ` + ", a credential that never expires: " + ` +
			quote("the token controller fills this Secret with a token that never expires; whoever can read the Secret holds the account until the Secret is deleted"),
		subject: func(p policy.SubjectPattern) string {
			return and(globCEL(p.Kind, `"ServiceAccount"`), globCEL(p.Namespace, `object.metadata.?namespace.orValue("")`), globCEL(p.Name, tokenAccount))
		},
		sameNamespace: true,
	}
}

// classifyCEL writes the rule classification of a rule check: for each
// rule the check judges, the index of the first class it reaches.
func (c check) classifyCEL() string {
	chain := "-1"
	for i := len(c.classes) - 1; i >= 0; i-- {
		chain = fmt.Sprintf("%s ? %d : %s", c.classes[i].cond, i, chain)
	}
	rules := `object.?rules.orValue([]).filter(r, ` + c.ruleSelect + `).map(r, ` + chain + `)`
	if c.targets[0] == "ClusterRole" {
		// An aggregated ClusterRole's rules are the aggregation
		// controller's to write: the CLI judges them in the whole graph.
		return `has(object.aggregationRule) ? [] : ` + rules
	}
	return rules
}
