package query

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// CanIAnswer is can-i's answer: per overlay, yes or no and why.
type CanIAnswer struct {
	Version  int           `json:"version"`
	Identity Identity      `json:"identity"`
	Request  Request       `json:"request"`
	Head     string        `json:"head"`
	HeadName string        `json:"headName,omitempty"` // the revision as typed
	Overlays []CanIOverlay `json:"overlays"`
}

// CanIOverlay answers for one overlay.
type CanIOverlay struct {
	Path  string `json:"path"`
	Error string `json:"error,omitempty"`
	// Unread lists what the overlay could not read: a "no" may be wrong.
	Unread []string `json:"unread,omitempty"`
	// Skipped lists the inputs the overlay was rendered without: a "no"
	// may be a yes with them.
	Skipped []report.SkippedInput `json:"skipped,omitempty"`
	// NamespaceUnset is set when the namespace asked about holds none of
	// the overlay's objects and some name no namespace.
	NamespaceUnset *Landed `json:"namespaceUnset,omitempty"`
	Allowed        bool    `json:"allowed"`
	// Via is the chain of the first binding and rule that allow the
	// request, in the authorizer's order.
	Via []report.Ref `json:"via,omitempty"`
}

// CanI answers whether id may make r in one overlay.
func CanI(ov Overlay, id Identity, r Request, o Options) CanIOverlay {
	if ov.Err != nil {
		return CanIOverlay{Path: ov.Path, Error: ov.Err.Error()}
	}
	via, ok := o.graph(ov.Objects).Explain(id.user(), r.rbac())
	return CanIOverlay{Path: ov.Path, Unread: ov.Unread, Skipped: ov.Skipped, NamespaceUnset: landed(ov.Objects, r.Namespace, o), Allowed: ok, Via: ov.place(via)}
}

// ListAnswer is can-i --list's answer: per overlay and scope, the
// identity's permissions.
type ListAnswer struct {
	Version  int           `json:"version"`
	Identity Identity      `json:"identity"`
	Head     string        `json:"head"`
	HeadName string        `json:"headName,omitempty"` // the revision as typed
	Overlays []ListOverlay `json:"overlays"`
}

// ListOverlay answers for one overlay.
type ListOverlay struct {
	Path  string `json:"path"`
	Error string `json:"error,omitempty"`
	// Unread lists what the overlay could not read: the list may be short.
	Unread []string `json:"unread,omitempty"`
	// Skipped lists the inputs the overlay was rendered without.
	Skipped []report.SkippedInput `json:"skipped,omitempty"`
	Scopes  []ScopeRules          `json:"scopes"`
}

// ScopeRules are the permissions granted at one scope: cluster-wide
// (ClusterRoleBindings, which reach every namespace too), or what the
// RoleBindings of one namespace add.
type ScopeRules struct {
	Scope report.Scope `json:"scope"`
	Rules []ListRule   `json:"rules"`
}

// ListRule is one line of kubectl auth can-i --list: a resource (or
// non-resource URL) with its names and the verbs allowed on it.
type ListRule struct {
	// Resource reads RESOURCE.GROUP as kubectl prints it ("*.*",
	// "deployments.apps", "pods/exec"); empty for a non-resource URL.
	Resource        string   `json:"resource,omitempty"`
	NonResourceURLs []string `json:"nonResourceURLs,omitempty"`
	ResourceNames   []string `json:"resourceNames,omitempty"`
	Verbs           []string `json:"verbs"`
	// Via holds one chain per binding that grants part of the line.
	Via [][]report.Ref `json:"via"`
}

// List gives id's whole permission set in one overlay, merged the way
// kubectl auth can-i --list merges a rules review: every rule broken down
// to one resource (or URL) and name set, then verbs merged per line,
// sorted. namespaces narrows the namespace scopes (nil: every namespace
// with a RoleBinding naming id).
func List(ov Overlay, id Identity, namespaces []string, o Options) ListOverlay {
	if ov.Err != nil {
		return ListOverlay{Path: ov.Path, Error: ov.Err.Error(), Scopes: []ScopeRules{}}
	}
	grants := o.graph(ov.Objects).RulesFor(id.user(), namespaces)
	type key struct{ scope, resource, urls, names string }
	lines := map[key]*ListRule{}
	var scopes []string
	for _, gr := range grants {
		if !slices.Contains(scopes, gr.Scope) {
			scopes = append(scopes, gr.Scope)
		}
		r := gr.Rule
		var parts []ListRule
		if len(r.NonResourceURLs) > 0 {
			for _, u := range r.NonResourceURLs {
				parts = append(parts, ListRule{NonResourceURLs: []string{u}})
			}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				parts = append(parts, ListRule{Resource: resourceGroup(res, g), ResourceNames: slices.Clone(r.ResourceNames)})
			}
		}
		for _, p := range parts {
			k := key{gr.Scope, p.Resource, strings.Join(p.NonResourceURLs, ","), strings.Join(p.ResourceNames, ",")}
			line := lines[k]
			if line == nil {
				p.Verbs = []string{}
				line = &p
				lines[k] = line
			}
			for _, v := range r.Verbs {
				if !slices.Contains(line.Verbs, v) {
					line.Verbs = append(line.Verbs, v)
				}
			}
			if !slices.ContainsFunc(line.Via, func(v []report.Ref) bool { return v[0] == gr.Via[0] }) {
				line.Via = append(line.Via, ov.place(gr.Via))
			}
		}
	}
	out := ListOverlay{Path: ov.Path, Unread: ov.Unread, Skipped: ov.Skipped, Scopes: []ScopeRules{}}
	slices.Sort(scopes) // "" (cluster-wide) first
	for _, sc := range scopes {
		sr := ScopeRules{Scope: report.Scope{Cluster: sc == ""}, Rules: []ListRule{}}
		if sc != "" {
			sr.Scope.Namespace = sc
		}
		for k, l := range lines {
			if k.scope == sc {
				slices.Sort(l.Verbs)
				sr.Rules = append(sr.Rules, *l)
			}
		}
		slices.SortFunc(sr.Rules, func(a, b ListRule) int {
			return cmp.Or(strings.Compare(a.Resource, b.Resource),
				strings.Compare(strings.Join(a.NonResourceURLs, ","), strings.Join(b.NonResourceURLs, ",")),
				strings.Compare(strings.Join(a.ResourceNames, ","), strings.Join(b.ResourceNames, ",")))
		})
		out.Scopes = append(out.Scopes, sr)
	}
	return out
}

// resourceGroup is kubectl's CombineResourceGroup: "pods", "deployments.apps".
func resourceGroup(res, group string) string {
	if group == "" {
		return res
	}
	return res + "." + group
}
