package checks

import (
	"fmt"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// An rbac.escalation finding reads as one line in its message ("shop/ci →
// create pods in shop → shop/deployer → cluster-admin"); the outputs add
// its path step by step, folded where the format can fold: each step, the
// identity it reaches, and each permission it takes with its via chain.

// pathStepLines are the steps of a path, numbered, each permission below
// its step; esc escapes text for the format and chainOf renders a via chain.
func pathStepLines(path []report.PathStep, esc func(string) string, chainOf func([]report.Ref) string) []string {
	var out []string
	for i, st := range path {
		out = append(out, fmt.Sprintf("%d. %s", i+1, esc(pathSubject(st.From)+": "+st.Primitive+" → "+pathSubject(st.To))))
		for _, g := range st.Grants {
			line := "   - " + esc(g.Permission.String()+" "+g.Scope.String())
			if len(g.Via) > 0 {
				line += " via " + chainOf(g.Via)
			}
			out = append(out, line)
		}
	}
	return out
}

// pathSubject names an identity of a path; kind ClusterRole is everyone
// bound to the role, and cluster-admin "any role", in its namespace or
// cluster-wide.
func pathSubject(s report.Subject) string {
	if s.Kind == "ClusterRole" && s.Name != "cluster-admin" {
		return "everyone bound to ClusterRole " + s.Name
	}
	if s.Kind == "ClusterRole" {
		if s.Namespace == "" {
			return s.Name + " (any role, cluster-wide)"
		}
		return s.Name + " in namespace " + s.Namespace + " (any role there)"
	}
	return s.String()
}

// mdPath is the path as a folded Markdown block; indent is prepended to
// every line so that it can sit inside a list item.
func mdPath(path []report.PathStep, indent string) string {
	if len(path) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s<details><summary>Path, %s</summary>\n\n", indent, plural(len(path), "step", "steps"))
	for _, l := range pathStepLines(path, mdEscape, mdChain) {
		b.WriteString(indent + l + "\n")
	}
	b.WriteString("\n" + indent + "</details>\n")
	return b.String()
}
