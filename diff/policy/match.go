package policy

import (
	"strings"

	"github.com/rbacguard/rbacguard/diff/glob"
	"github.com/rbacguard/rbacguard/diff/report"
)

// globMatch matches a name glob: "*" is any run of characters ("/" too, so
// "pods/*" matches "pods/exec"), "?" is one character.
func globMatch(pattern, s string) bool { return glob.Name(pattern, s) }

// valueMatch matches one of a finding's RBAC values. A finding's own
// wildcard ("*", "*/scale") is a grant of everything, not a name that
// happens to fit a glob: only the pattern "*" or the same literal matches
// it, so "secrets" never exempts a grant of "*".
func valueMatch(pattern, v string) bool {
	if strings.Contains(v, "*") {
		return pattern == "*" || pattern == v
	}
	return globMatch(pattern, v)
}

// pathMatch matches an overlay path glob: "*" within a path element, "**"
// across elements.
func pathMatch(pattern, p string) bool { return glob.Path(pattern, p) }

func (s *SubjectPattern) match(subj *report.Subject) bool {
	if subj == nil {
		return false
	}
	return fieldMatch(s.Kind, subj.Kind) && fieldMatch(s.Namespace, subj.Namespace) && fieldMatch(s.Name, subj.Name)
}

func (w *WorkloadPattern) match(ws []report.Workload) bool {
	for _, x := range ws {
		if fieldMatch(w.Kind, x.Kind) && fieldMatch(w.Namespace, x.Namespace) && fieldMatch(w.Name, x.Name) {
			return true
		}
	}
	return false
}

// fieldMatch: an empty pattern field matches anything.
func fieldMatch(pattern, v string) bool { return pattern == "" || globMatch(pattern, v) }

func (pp *PermissionPattern) match(perm *report.Permission) bool {
	if perm == nil {
		return false
	}
	return listMatch(pp.Verbs, perm.Verbs) &&
		listMatch(pp.APIGroups, perm.APIGroups) &&
		listMatch(pp.Resources, perm.Resources) &&
		listMatch(pp.ResourceNames, perm.ResourceNames) &&
		listMatch(pp.NonResourceURLs, perm.NonResourceURLs)
}

// listMatch: an empty pattern list matches anything; otherwise the finding
// must have values and each must match one of the globs, so that a pattern
// for "get" does not cover a grouped "get,delete".
func listMatch(globs, values []string) bool {
	if len(globs) == 0 {
		return true
	}
	if len(values) == 0 {
		return false
	}
	for _, v := range values {
		ok := false
		for _, g := range globs {
			if valueMatch(g, v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matches applies the shared matchers of rules and exemptions: each one
// that is set must match, and a finding that lacks the field (no subject,
// no overlay) never matches a pattern for it.
func matches(f *report.Finding, kind, overlay string, s *SubjectPattern, pp *PermissionPattern, w *WorkloadPattern) bool {
	if kind != "" && !globMatch(kind, string(f.Kind)) {
		return false
	}
	if overlay != "" && (f.Overlay == "" || !pathMatch(overlay, f.Overlay)) {
		return false
	}
	if s != nil && !s.match(f.Subject) {
		return false
	}
	if pp != nil && !pp.match(f.Permission) {
		return false
	}
	if w != nil && !w.match(f.Workloads) {
		return false
	}
	return true
}
