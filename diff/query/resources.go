package query

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/spell"
)

// Resource is one kind of object the API serves, as discovery lists it.
type Resource struct {
	Plural     string
	ShortNames []string
	Group      string
	Namespaced bool
	Kind       string
	// Subresources are the subresources the API serves for it; "*" means
	// any name (userextras/SCOPE).
	Subresources []string
	// unknown: a resource of a group nothing in reach defines, taken as
	// the user spelled it.
	unknown bool
}

// Resources is an API surface to resolve resource arguments against: the
// built-in one, plus the CustomResourceDefinitions of a tree.
type Resources struct{ list []Resource }

//go:embed resources.txt
var builtinTable string

// BuiltinResources is Kubernetes' own API surface (resources.txt), in
// kubectl's priority order.
func BuiltinResources() Resources { return builtinResources() }

// builtinResources reads the table once: every overlay's answer uses it.
var builtinResources = sync.OnceValue(func() Resources {
	var rs Resources
	for _, line := range strings.Split(builtinTable, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 6 {
			panic(fmt.Sprintf("resources.txt: %q: want 6 fields", line)) // the embedded table is ours: a test reads it
		}
		rs.list = append(rs.list, Resource{Plural: f[0], ShortNames: dashList(f[1]), Group: strings.Trim(f[2], "-"),
			Namespaced: f[3] == "true", Kind: f[4], Subresources: dashList(f[5])})
	}
	return rs
})

func dashList(s string) []string {
	if s == "-" {
		return nil
	}
	return strings.Split(s, ",")
}

// WithCRDs adds the resources the CustomResourceDefinitions among objs
// define, after the built-in ones (kubectl, too, prefers the built-in
// groups), with the status and scale subresources they declare.
func (rs Resources) WithCRDs(objs []*manifest.Object) Resources {
	out := Resources{list: slices.Clone(rs.list)}
	for _, o := range objs {
		if o.Kind != "CustomResourceDefinition" || o.Group() != "apiextensions.k8s.io" {
			continue
		}
		r := Resource{Plural: o.Str("spec", "names", "plural"), Group: o.Str("spec", "group"),
			Namespaced: o.Str("spec", "scope") != "Cluster", Kind: o.Str("spec", "names", "kind")}
		if r.Plural == "" || r.Group == "" {
			continue
		}
		if short, ok := o.Get("spec", "names", "shortNames").([]any); ok {
			for _, s := range short {
				if s, ok := s.(string); ok {
					r.ShortNames = append(r.ShortNames, s)
				}
			}
		}
		if versions, ok := o.Get("spec", "versions").([]any); ok {
			for _, v := range versions {
				sub, _ := v.(map[string]any)["subresources"].(map[string]any)
				for _, name := range []string{"status", "scale"} {
					if _, ok := sub[name]; ok && !slices.Contains(r.Subresources, name) {
						r.Subresources = append(r.Subresources, name)
					}
				}
			}
		}
		if !slices.ContainsFunc(out.list, func(x Resource) bool { return x.Plural == r.Plural && x.Group == r.Group }) {
			out.list = append(out.list, r)
		}
	}
	return out
}

// names are the spellings kubectl accepts for r: plural, singular (the
// kind in lower case), short names and the kind itself (compared without
// case).
func (r Resource) names() []string {
	return append([]string{r.Plural, strings.ToLower(r.Kind)}, r.ShortNames...)
}

func (r Resource) is(name string) bool {
	name = strings.ToLower(name)
	return slices.Contains(r.names(), name)
}

// find returns the first resource name names in group (any group when
// anyGroup), in priority order.
func (rs Resources) find(name, group string, anyGroup bool) (Resource, bool) {
	for _, r := range rs.list {
		if (anyGroup || r.Group == group) && r.is(name) {
			return r, true
		}
	}
	return Resource{}, false
}

// lookup reads RESOURCE, RESOURCE.GROUP or RESOURCE.VERSION.GROUP as
// kubectl's resource argument does; group is --group, groupSet whether it
// was given ("" is then the core group).
func (rs Resources) lookup(arg, group string, groupSet bool) (Resource, error) {
	name, dotted, hasDot := strings.Cut(arg, ".")
	if hasDot && groupSet && dotted != group {
		return Resource{}, fmt.Errorf("resource %q names group %q but --group is %q", arg, dotted, group)
	}
	if hasDot {
		if r, ok := rs.find(name, dotted, false); ok {
			return r, nil
		}
		// deployments.v1.apps: the version is not part of an RBAC request.
		if v, g, ok := strings.Cut(dotted, "."); ok && isVersion(v) {
			if r, ok := rs.find(name, g, false); ok {
				return r, nil
			}
		}
		if !rs.knowsGroup(dotted) && strings.Contains(dotted, ".") {
			return outside(name, dotted), nil
		}
		return Resource{}, rs.unknown(arg)
	}
	if r, ok := rs.find(arg, group, !groupSet); ok {
		return r, nil
	}
	if groupSet && !rs.knowsGroup(group) && strings.Contains(group, ".") {
		return outside(name, group), nil
	}
	return Resource{}, rs.unknown(arg)
}

// knowsGroup reports whether any resource of rs is in group.
func (rs Resources) knowsGroup(group string) bool {
	return slices.ContainsFunc(rs.list, func(r Resource) bool { return r.Group == group })
}

// outside is a resource of a group neither Kubernetes nor the tree
// defines (a CustomResourceDefinition installed another way), taken as
// written: its plural and group, any subresource.
func outside(plural, group string) Resource {
	return Resource{Plural: plural, Group: group, Namespaced: true, Subresources: []string{"*"}, unknown: true}
}

func isVersion(s string) bool {
	return len(s) > 1 && s[0] == 'v' && s[1] >= '0' && s[1] <= '9'
}

// UnknownResourceError is a resource argument neither Kubernetes nor the
// tree's CustomResourceDefinitions serve: answering it would be a silent
// "no".
type UnknownResourceError struct {
	Arg     string
	Nearest []string // RESOURCE.GROUP spellings closest to Arg
}

func (e *UnknownResourceError) Error() string {
	msg := fmt.Sprintf("unknown resource type %q: not a Kubernetes resource, nor one a CustomResourceDefinition of the tree defines", e.Arg)
	if len(e.Nearest) > 0 {
		msg += "; did you mean " + strings.Join(e.Nearest, ", ") + "?"
	}
	return msg + " (a resource of a CustomResourceDefinition outside the tree: spell it PLURAL.GROUP, as in widgets.example.com)"
}

func (rs Resources) unknown(arg string) error {
	name, _, _ := strings.Cut(strings.ToLower(arg), ".")
	type scored struct {
		name string
		d    int
	}
	var near []scored
	for _, r := range rs.list {
		best := len(name) + 10
		for _, n := range r.names() {
			best = min(best, spell.Distance(name, n))
		}
		if best <= max(2, len(name)/3) {
			full := r.Plural
			if r.Group != "" {
				full += "." + r.Group
			}
			near = append(near, scored{full, best})
		}
	}
	slices.SortStableFunc(near, func(a, b scored) int { return a.d - b.d })
	e := &UnknownResourceError{Arg: arg}
	for _, n := range near[:min(len(near), 3)] {
		e.Nearest = append(e.Nearest, n.name)
	}
	return e
}

// knownVerbs are the verbs kubectl auth can-i knows without a warning.
var knownVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
	"use", "bind", "escalate", "impersonate", "approve", "sign", "attest", "proxy", "*"}

// VerbWarning warns, as kubectl auth can-i does, of a verb Kubernetes'
// own APIs do not use (an aggregated API may: it is asked all the same),
// naming the nearest known ones; "" for a known verb.
func VerbWarning(verb string) string {
	if slices.Contains(knownVerbs, verb) {
		return ""
	}
	msg := fmt.Sprintf("verb %q is not a known verb", verb)
	if near := spell.Near(verb, knownVerbs); len(near) > 0 {
		msg += " (did you mean " + strings.Join(near, ", ") + "?)"
	}
	return msg + "; asked all the same"
}

// ScopeWarning warns, as kubectl auth can-i does, of a namespace given
// for a cluster-scoped resource (a Namespace object is asked in its own
// namespace, so not for namespaces); "" otherwise.
func (rs Resources) ScopeWarning(r Request) string {
	if r.Namespace == "" || r.URL != "" || (r.Group == "" && r.Resource == "namespaces") {
		return ""
	}
	for _, x := range rs.list {
		if x.Plural == r.Resource && x.Group == r.Group && !x.Namespaced && !x.unknown {
			return fmt.Sprintf("resource %q is not namespace scoped: -n %s plays no part (a RoleBinding never grants it)", r.Resource, r.Namespace)
		}
	}
	return ""
}
