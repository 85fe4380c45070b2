package audit

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/report"
)

// maxNames is how many object names a suggested rule lists before it
// covers every object of the resource instead.
const maxNames = 10

// Suggestion is the smallest set of rules, without wildcards, that
// allows every request a subject of the tree was logged making (beyond
// what every authenticated user may do), as audit2rbac derives them: a
// Role per namespace, a ClusterRole for cluster-scoped resources and
// non-resource URLs.
type Suggestion struct {
	Subject report.Subject
	// Namespace is the Role's; "" for the ClusterRole.
	Namespace string
	Rules     []rbacv1.PolicyRule
	// Truncated is set when the subject made more distinct requests than
	// were kept: the rules may miss some.
	Truncated bool
}

// Suggestions lists the suggested roles of each subject that made requests.
func (us *Usage) Suggestions() []Suggestion {
	var out []Suggestion
	for _, s := range sortedSubjects(us.used) {
		set := us.used[s]
		type key struct{ group, resource string }
		type acc struct {
			verbs   map[string]bool
			names   map[string]bool
			unnamed bool
		}
		byNS := map[string]map[key]*acc{}
		for r := range set.reqs {
			ns, k := r.Namespace, key{r.APIGroup, r.Resource}
			if r.Subresource != "" {
				k.resource += "/" + r.Subresource
			}
			if !r.ResourceRequest {
				ns, k = "", key{"\x00url", r.Path}
			}
			if byNS[ns] == nil {
				byNS[ns] = map[key]*acc{}
			}
			a := byNS[ns][k]
			if a == nil {
				a = &acc{verbs: map[string]bool{}, names: map[string]bool{}}
				byNS[ns][k] = a
			}
			a.verbs[r.Verb] = true
			if r.Name == "" || !r.ResourceRequest {
				a.unnamed = true
			} else {
				a.names[r.Name] = true
			}
		}
		for _, ns := range slices.Sorted(maps.Keys(byNS)) {
			var rules []rbacv1.PolicyRule
			for k, a := range byNS[ns] {
				verbs := slices.Sorted(maps.Keys(a.verbs))
				if k.group == "\x00url" {
					rules = append(rules, rbacv1.PolicyRule{Verbs: verbs, NonResourceURLs: []string{k.resource}})
					continue
				}
				pr := rbacv1.PolicyRule{Verbs: verbs, APIGroups: []string{k.group}, Resources: []string{k.resource}}
				if !a.unnamed && len(a.names) <= maxNames {
					pr.ResourceNames = slices.Sorted(maps.Keys(a.names))
				}
				rules = append(rules, pr)
			}
			out = append(out, Suggestion{Subject: s, Namespace: ns, Rules: mergeRules(rules), Truncated: set.truncated})
		}
	}
	return out
}

// mergeRules joins rules that differ only in their resources (or URLs),
// and sorts them.
func mergeRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		i := slices.IndexFunc(out, func(o rbacv1.PolicyRule) bool {
			return len(r.ResourceNames) == 0 && len(o.ResourceNames) == 0 && slices.Equal(o.Verbs, r.Verbs) &&
				slices.Equal(o.APIGroups, r.APIGroups) && (len(o.NonResourceURLs) > 0) == (len(r.NonResourceURLs) > 0)
		})
		if i < 0 {
			out = append(out, r)
			continue
		}
		out[i].Resources = append(out[i].Resources, r.Resources...)
		out[i].NonResourceURLs = append(out[i].NonResourceURLs, r.NonResourceURLs...)
	}
	for i := range out {
		slices.Sort(out[i].Resources)
		slices.Sort(out[i].NonResourceURLs)
	}
	slices.SortFunc(out, func(a, b rbacv1.PolicyRule) int {
		return strings.Compare(fmt.Sprint(a.NonResourceURLs, a.APIGroups, a.Resources, a.ResourceNames, a.Verbs), fmt.Sprint(b.NonResourceURLs, b.APIGroups, b.Resources, b.ResourceNames, b.Verbs))
	})
	return out
}

// WriteYAML writes the suggestion as a Role (or ClusterRole) and the
// binding that gives it to the subject, ready to replace the old grants.
func (s Suggestion) WriteYAML(w io.Writer) error {
	name := "rbacguard-suggested-" + strings.ToLower(strings.NewReplacer(":", "-", "@", "-", "/", "-").Replace(s.Subject.Name))
	kind, bkind, meta := "ClusterRole", "ClusterRoleBinding", fmt.Sprintf("  name: %s\n", name)
	if s.Namespace != "" {
		kind, bkind, meta = "Role", "RoleBinding", fmt.Sprintf("  name: %s\n  namespace: %s\n", name, s.Namespace)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# What %s was logged doing", s.Subject)
	if s.Namespace != "" {
		fmt.Fprintf(&b, " in namespace %s", s.Namespace)
	}
	if s.Truncated {
		fmt.Fprintf(&b, " (more than %d distinct requests: some may be missing)", maxDistinct)
	}
	fmt.Fprintf(&b, ".\napiVersion: rbac.authorization.k8s.io/v1\nkind: %s\nmetadata:\n%srules:\n", kind, meta)
	list := func(field string, v []string) {
		if len(v) > 0 {
			fmt.Fprintf(&b, "  %s: %s\n", field, quoted(v))
		}
	}
	for _, r := range s.Rules {
		b.WriteString("-")
		if len(r.NonResourceURLs) > 0 {
			fmt.Fprintf(&b, " nonResourceURLs: %s\n", quoted(r.NonResourceURLs))
		} else {
			fmt.Fprintf(&b, " apiGroups: %s\n", quoted(r.APIGroups))
			list("resources", r.Resources)
			list("resourceNames", r.ResourceNames)
		}
		list("verbs", r.Verbs)
	}
	fmt.Fprintf(&b, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: %s\nmetadata:\n%sroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: %s\n  name: %s\nsubjects:\n- kind: %s\n",
		bkind, meta, kind, name, s.Subject.Kind)
	if s.Subject.Kind != "ServiceAccount" {
		b.WriteString("  apiGroup: rbac.authorization.k8s.io\n")
	}
	fmt.Fprintf(&b, "  name: %q\n", s.Subject.Name)
	if s.Subject.Namespace != "" {
		fmt.Fprintf(&b, "  namespace: %s\n", s.Subject.Namespace)
	}
	b.WriteString("---\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func quoted(v []string) string {
	q := make([]string, len(v))
	for i, x := range v {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
