package rbac

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Group is the API group of every RBAC kind.
const Group = "rbac.authorization.k8s.io"

// Options tune Build.
type Options struct {
	// DefaultNamespace is where objects without a namespace land ("" means
	// "default"), as kubectl apply would put them.
	DefaultNamespace string
	// ExternalRoles are Roles and ClusterRoles that live outside the
	// repository (from the policy), used to resolve roleRefs.
	ExternalRoles []*manifest.Object
	// NoBootstrap leaves out the built-in bootstrap policy.
	NoBootstrap bool
	// Changed reports whether a line of a file was changed by the pull
	// request; findings then point at the changed line that caused them
	// (the added verb, the new subject, the new label). Nil: none known.
	Changed func(path string, line int) bool
}

// Graph is the RBAC state of one overlay.
type Graph struct {
	defaultNS string
	changed   func(path string, line int) bool
	roles     map[roleKey]*role
	bindings  []*binding
	// bindingByKey lets a later definition of a binding replace an earlier one.
	bindingByKey map[roleKey]*binding
	// crdScope records CustomResourceDefinitions of the tree: group/plural → cluster-scoped.
	crdScope map[string]bool
	problems []report.Finding
	// grants[subject][scope] are the rules bound to each subject, where scope
	// is "" for cluster-wide and a namespace otherwise.
	grants map[subject]map[string][]grant
	// unresolved are bindings whose roleRef resolves nowhere.
	unresolved []unresolvedRef
	// boundClusterRoles are ClusterRoles referenced by a binding of the tree.
	boundClusterRoles map[string]bool
	// aggregatedInto are ClusterRoles whose labels another ClusterRole's
	// aggregationRule selects: whoever holds them holds them through it.
	aggregatedInto map[string]bool
	// byNamespace indexes bindings for Allows.
	byNamespace map[string][]*binding
}

type roleKey struct{ kind, namespace, name string }

type role struct {
	key         roleKey
	rules       []rule
	labels      map[string]string
	aggregation *rbacv1.AggregationRule
	obj         *manifest.Object // nil for built-in and external roles
	builtin     bool
	external    bool
}

// rule is one PolicyRule with the chain of references that defined it: the
// role (and, for aggregated rules, the role it came from) and the rule line.
type rule struct {
	rbacv1.PolicyRule
	via []report.Ref
	key string // canonical text, for fast set comparisons
	// obj and index locate the rule in the repository (obj is nil for
	// built-in roles); label is the aggregation label that pulled it into
	// an aggregated role, if any.
	obj   *manifest.Object
	index int
	label string
}

type binding struct {
	kind, namespace, name string
	roleRef               rbacv1.RoleRef
	subjects              []rbacv1.Subject
	obj                   *manifest.Object
	builtin               bool
}

type grant struct {
	rule
	binding    *binding
	subjectIdx int
}

type unresolvedRef struct {
	binding *binding
	subject subject
	scope   string
}

func (b *binding) ref(field string) report.Ref {
	r := report.Ref{Kind: b.kind, Namespace: b.namespace, Name: b.name, Field: field}
	if b.obj != nil {
		loc := b.obj.Origin
		if field != "" {
			loc = lineOfField(b.obj, field)
		}
		r.Path, r.Line = loc.Path, loc.Line
	}
	return r
}

func (r *role) ref(field string) report.Ref {
	ref := report.Ref{Kind: r.key.kind, Namespace: r.key.namespace, Name: r.key.name, Field: field}
	switch {
	case r.obj != nil:
		loc := r.obj.Origin
		if field != "" {
			loc = lineOfField(r.obj, field)
		}
		ref.Path, ref.Line = loc.Path, loc.Line
	case r.builtin:
		ref.Path = "" // built into Kubernetes: no file to point at
	}
	return ref
}

// lineOfField resolves fields written like "rules[2].verbs[0]" or
// "metadata.labels[rbac.authorization.k8s.io/aggregate-to-edit]": names
// separated by dots, with list indexes or map keys in brackets.
func lineOfField(o *manifest.Object, field string) manifest.Location {
	return o.LineOf(parseField(field)...)
}

func parseField(field string) []any {
	var path []any
	for field != "" {
		switch field[0] {
		case '.':
			field = field[1:]
		case '[':
			end := strings.IndexByte(field, ']')
			if end < 0 {
				return path
			}
			key := field[1:end]
			if n, err := strconv.Atoi(key); err == nil {
				path = append(path, n)
			} else {
				path = append(path, key)
			}
			field = field[end+1:]
		default:
			end := strings.IndexAny(field, ".[")
			if end < 0 {
				end = len(field)
			}
			path = append(path, field[:end])
			field = field[end:]
		}
	}
	return path
}

//go:embed bootstrap.yaml
var bootstrapYAML []byte

// bootstrap is the API server's built-in policy, decoded once.
var bootstrap = sync.OnceValue(func() []*manifest.Object {
	objs, errs := manifest.Decode("", bootstrapYAML)
	if len(errs) > 0 {
		panic(fmt.Sprintf("embedded bootstrap policy: %v", errs[0])) // generated file; a test guards it
	}
	return objs
})

// Build reads the RBAC objects among objs into a graph. Problems (a roleRef
// of the wrong kind, duplicates, undecodable objects) are kept as findings;
// they never stop the build.
func Build(objs []*manifest.Object, o Options) *Graph {
	g := &Graph{
		defaultNS:         cmp.Or(o.DefaultNamespace, "default"),
		changed:           o.Changed,
		roles:             map[roleKey]*role{},
		crdScope:          map[string]bool{},
		grants:            map[subject]map[string][]grant{},
		boundClusterRoles: map[string]bool{},
		aggregatedInto:    map[string]bool{},
		bindingByKey:      map[roleKey]*binding{},
		byNamespace:       map[string][]*binding{},
	}
	if !o.NoBootstrap {
		for _, obj := range bootstrap() {
			g.add(obj, origin{builtin: true})
		}
	}
	for _, obj := range o.ExternalRoles {
		g.add(obj, origin{external: true})
	}
	seen := map[roleKey]*manifest.Object{}
	for _, obj := range objs {
		if k, ok := g.rbacKey(obj); ok {
			if prev, dup := seen[k]; dup {
				g.problem(report.Medium, obj, fmt.Sprintf("%s is defined twice (also at %s); the last definition wins, as with kubectl apply", obj, prev.Origin), "duplicate")
			}
			seen[k] = obj
		}
		g.add(obj, origin{})
	}
	g.aggregate()
	g.index()
	return g
}

type origin struct{ builtin, external bool }

func (g *Graph) rbacKey(obj *manifest.Object) (roleKey, bool) {
	if obj.Group() != Group {
		return roleKey{}, false
	}
	ns := obj.Namespace
	switch obj.Kind {
	case "Role", "RoleBinding":
		ns = cmp.Or(ns, g.defaultNS)
	case "ClusterRole", "ClusterRoleBinding":
		ns = ""
	default:
		return roleKey{}, false
	}
	return roleKey{obj.Kind, ns, obj.Name}, true
}

func (g *Graph) add(obj *manifest.Object, from origin) {
	if obj.Kind == "CustomResourceDefinition" && obj.Group() == "apiextensions.k8s.io" {
		group, _ := obj.Get("spec", "group").(string)
		plural, _ := obj.Get("spec", "names", "plural").(string)
		scope, _ := obj.Get("spec", "scope").(string)
		g.crdScope[group+"/"+plural] = scope == "Cluster"
		return
	}
	key, ok := g.rbacKey(obj)
	if !ok {
		return
	}
	switch obj.Kind {
	case "Role", "ClusterRole":
		rules, err := decodeRules(obj.Body)
		var labels map[string]string
		var agg *rbacv1.AggregationRule
		if err == nil {
			labels, err = decodeLabels(obj.Body)
		}
		if err == nil && obj.Kind == "ClusterRole" {
			agg, err = decodeAggregation(obj.Body)
		}
		if err != nil {
			g.problem(report.High, obj, fmt.Sprintf("%s cannot be read: %v", obj, err), fieldOf(err))
			return
		}
		ro := &role{key: key, labels: labels, aggregation: agg, builtin: from.builtin, external: from.external}
		if !from.builtin && !from.external {
			ro.obj = obj
		}
		for i, pr := range rules {
			field := fmt.Sprintf("rules[%d]", i)
			if len(pr.Resources) > 0 && len(pr.APIGroups) == 0 && !from.builtin && !from.external {
				g.problem(report.Medium, obj, fmt.Sprintf("%s: %s has resources but no apiGroups; it matches nothing and the API server rejects the %s", obj, field, obj.Kind), field)
			}
			ru := newRule(pr, []report.Ref{ro.ref(field)})
			ru.obj, ru.index = ro.obj, i
			ro.rules = append(ro.rules, ru)
		}
		g.roles[key] = ro
	case "RoleBinding", "ClusterRoleBinding":
		ref, subjects, err := decodeBinding(obj.Body)
		if err != nil {
			g.problem(report.High, obj, fmt.Sprintf("%s cannot be read: %v", obj, err), fieldOf(err))
			return
		}
		bi := &binding{kind: key.kind, namespace: key.namespace, name: key.name, roleRef: ref, subjects: subjects, builtin: from.builtin}
		if !from.builtin {
			bi.obj = obj
		}
		if !g.checkBinding(bi, obj) {
			return
		}
		g.bindingByKey[key] = bi
	}
}

// checkBinding reports bindings the API server would reject or that grant
// nothing; it returns false for those that must not be used.
func (g *Graph) checkBinding(b *binding, obj *manifest.Object) bool {
	if b.builtin {
		return true
	}
	ref := b.roleRef
	if ref.APIGroup == "" {
		// rbac/v1 defaults an empty roleRef.apiGroup (SetDefaults_RoleBinding).
		b.roleRef.APIGroup, ref.APIGroup = Group, Group
	}
	switch {
	case ref.APIGroup != Group:
		g.problem(report.Medium, obj, fmt.Sprintf("%s: roleRef.apiGroup is %q; it must be %q, so the API server rejects this binding", obj, ref.APIGroup, Group), "roleRef")
		return false
	case ref.Kind != "ClusterRole" && !(ref.Kind == "Role" && b.kind == "RoleBinding"):
		want := "Role or ClusterRole"
		if b.kind == "ClusterRoleBinding" {
			want = "ClusterRole"
		}
		g.problem(report.Medium, obj, fmt.Sprintf("%s: roleRef.kind is %q; a %s can only reference a %s, so the API server rejects it", obj, ref.Kind, b.kind, want), "roleRef")
		return false
	case ref.Name == "":
		g.problem(report.Medium, obj, fmt.Sprintf("%s: roleRef.name is empty", obj), "roleRef")
		return false
	}
	if len(b.subjects) == 0 {
		g.problem(report.Info, obj, fmt.Sprintf("%s has no subjects: it grants nothing", obj), "subjects")
	}
	for i, s := range b.subjects {
		if s.Kind == "ServiceAccount" && s.Namespace == "" && b.kind == "ClusterRoleBinding" {
			g.problem(report.Low, obj, fmt.Sprintf("%s: subjects[%d] is ServiceAccount %q without a namespace; in a ClusterRoleBinding it matches nobody", obj, i, s.Name), fmt.Sprintf("subjects[%d]", i))
		}
		if s.Kind != "ServiceAccount" && s.Kind != "User" && s.Kind != "Group" {
			g.problem(report.Low, obj, fmt.Sprintf("%s: subjects[%d] has kind %q, which matches nobody (want ServiceAccount, User or Group)", obj, i, s.Kind), fmt.Sprintf("subjects[%d]", i))
		}
	}
	return true
}

func (g *Graph) problem(sev report.Severity, obj *manifest.Object, msg, field string) {
	loc := obj.Origin
	if field != "" {
		loc = lineOfField(obj, field)
	}
	g.problems = append(g.problems, report.Finding{
		Kind:     report.ManifestError,
		Severity: sev,
		Location: report.Location{Path: loc.Path, Line: loc.Line},
		// The object, the field and what is wrong (its wording without
		// line numbers, which move with edits elsewhere in the file).
		Cause:   obj.Kind + " " + obj.Namespace + "/" + obj.Name + "|" + field + "|" + report.ProblemKey(loc.Path, msg),
		Message: msg,
		Risk:    "rbacguard cannot be sure what this object grants",
	})
}

// fieldOf names the field a decoding error is about, for its line.
func fieldOf(err error) string {
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe.field
	}
	return ""
}

func newRule(pr rbacv1.PolicyRule, via []report.Ref) rule {
	return rule{PolicyRule: pr, via: via, key: ruleKey(pr)}
}

// ruleKey is a rule's exact text: quoting keeps apiGroups [] apart from
// [""] and ["a,b"] apart from ["a", "b"].
func ruleKey(pr rbacv1.PolicyRule) string {
	return fmt.Sprintf("%q|%q|%q|%q|%q", pr.Verbs, pr.APIGroups, pr.Resources, pr.ResourceNames, pr.NonResourceURLs)
}

// aggregate fills every ClusterRole that has an aggregationRule the way the
// clusterrole-aggregation controller does: its rules become the union
// (deduplicated, in name order of the source roles) of the rules of every
// other ClusterRole matching any selector; hand-written rules are
// overwritten. It repeats to a fixed point, because aggregation is
// transitive (edit aggregates into admin).
func (g *Graph) aggregate() {
	var aggregated, all []*role
	for _, r := range g.roles {
		if r.key.kind != "ClusterRole" {
			continue
		}
		all = append(all, r)
		if r.aggregation != nil {
			aggregated = append(aggregated, r)
		}
	}
	byName := func(a, b *role) int { return strings.Compare(a.key.name, b.key.name) }
	slices.SortFunc(all, byName)
	slices.SortFunc(aggregated, byName)
	selectors := map[*role][]labels.Selector{}
	for _, r := range aggregated {
		for _, s := range r.aggregation.ClusterRoleSelectors {
			sel, err := metav1.LabelSelectorAsSelector(&s)
			if err != nil {
				if r.obj != nil {
					g.problem(report.Medium, r.obj, fmt.Sprintf("%s: invalid aggregationRule selector: %v", r.obj.String(), err), "aggregationRule")
				}
				continue
			}
			selectors[r] = append(selectors[r], sel)
		}
	}
	for range len(aggregated) + 1 {
		changed := false
		for _, target := range aggregated {
			var rules []rule
			for _, src := range all {
				if src == target || !matchesAny(selectors[target], src.labels) {
					continue
				}
				g.aggregatedInto[src.key.name] = true
				for _, sr := range src.rules {
					if slices.ContainsFunc(rules, func(x rule) bool { return reflect.DeepEqual(x.PolicyRule, sr.PolicyRule) }) {
						continue
					}
					via := append([]report.Ref{target.ref("aggregationRule")}, sr.via...)
					ru := newRule(sr.PolicyRule, via)
					ru.obj, ru.index, ru.label = sr.obj, sr.index, sr.label
					if len(sr.via) == 1 { // a rule written in src itself: name the label that pulled it in
						ru.label = labelField(src, selectors[target])
						ru.via = []report.Ref{target.ref("aggregationRule"), src.ref(ru.label), sr.via[0]}
					}
					rules = append(rules, ru)
				}
			}
			if !sameRules(target.rules, rules) {
				target.rules = rules
				changed = true
			}
		}
		if !changed {
			break
		}
	}
}

func matchesAny(sels []labels.Selector, l map[string]string) bool {
	for _, s := range sels {
		if s.Matches(labels.Set(l)) {
			return true
		}
	}
	return false
}

// labelField names the first label of src that a selector of the target
// uses, so the finding can point at the label line.
func labelField(src *role, sels []labels.Selector) string {
	for _, k := range slices.Sorted(maps.Keys(src.labels)) {
		for _, s := range sels {
			reqs, _ := s.Requirements()
			for _, r := range reqs {
				if r.Key() == k {
					return "metadata.labels[" + k + "]"
				}
			}
		}
	}
	return "metadata.labels"
}

func sameRules(a, b []rule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key {
			return false
		}
	}
	return true
}

// index resolves every binding to its role and records, per subject and
// scope, the rules it is granted.
func (g *Graph) index() {
	g.bindings = slices.Collect(maps.Values(g.bindingByKey))
	slices.SortFunc(g.bindings, func(a, b *binding) int {
		return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.namespace, b.namespace), strings.Compare(a.name, b.name))
	})
	for _, b := range g.bindings {
		g.byNamespace[b.namespace] = append(g.byNamespace[b.namespace], b)
		if b.roleRef.Kind == "ClusterRole" && !b.builtin {
			g.boundClusterRoles[b.roleRef.Name] = true
		}
		r := g.resolve(b)
		for i, s := range b.subjects {
			subj, ok := subjectOf(s, b)
			if !ok {
				continue
			}
			if r == nil {
				if !b.builtin {
					g.unresolved = append(g.unresolved, unresolvedRef{binding: b, subject: subj, scope: b.namespace})
				}
				continue
			}
			if g.grants[subj] == nil {
				g.grants[subj] = map[string][]grant{}
			}
			for _, ru := range r.rules {
				g.grants[subj][b.namespace] = append(g.grants[subj][b.namespace], grant{rule: ru, binding: b, subjectIdx: i})
			}
		}
	}
}

func (g *Graph) resolve(b *binding) *role {
	switch b.roleRef.Kind {
	case "Role":
		return g.roles[roleKey{"Role", b.namespace, b.roleRef.Name}]
	case "ClusterRole":
		return g.roles[roleKey{"ClusterRole", "", b.roleRef.Name}]
	}
	return nil
}

// Problems returns findings about objects the graph could not use fully.
func (g *Graph) Problems() []report.Finding { return g.problems }

// ClusterScoped reports whether group/resource is cluster-scoped, counting
// the tree's CustomResourceDefinitions.
func (g *Graph) ClusterScoped(group, resource string) bool {
	res, _, _ := strings.Cut(resource, "/")
	if s, ok := g.crdScope[group+"/"+res]; ok {
		return s
	}
	return IsClusterScoped(group, resource)
}

// User is who makes a request: a name and the groups the authenticator
// gave it.
type User struct {
	Name   string
	Groups []string
}

// Allows reports whether the graph lets u make r, walking bindings as the
// authorizer does: every ClusterRoleBinding, then the RoleBindings of the
// request's namespace.
func (g *Graph) Allows(u User, r Request) bool {
	check := func(bs []*binding) bool {
		for _, b := range bs {
			if !slices.ContainsFunc(b.subjects, func(s rbacv1.Subject) bool { return appliesToUser(u, s, b.namespace) }) {
				continue
			}
			ro := g.resolve(b)
			if ro == nil {
				continue
			}
			for _, ru := range ro.rules {
				if RuleAllows(ru.PolicyRule, r) {
					return true
				}
			}
		}
		return false
	}
	if check(g.byNamespace[""]) {
		return true
	}
	return r.Namespace != "" && check(g.byNamespace[r.Namespace])
}

// appliesToUser mirrors the authorizer's subject match
// (pkg/registry/rbac/validation/rule.go).
func appliesToUser(u User, s rbacv1.Subject, namespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return u.Name == s.Name
	case rbacv1.GroupKind:
		return slices.Contains(u.Groups, s.Name)
	case rbacv1.ServiceAccountKind:
		ns := cmp.Or(s.Namespace, namespace)
		return ns != "" && u.Name == "system:serviceaccount:"+ns+":"+s.Name
	}
	return false
}
