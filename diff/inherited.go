package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
)

// inherited is the one finding that says what a new overlay takes from the
// overlays or bases it builds on (render.Pair.BuiltOn): it was compared
// with them at base, so its own findings are what it adds or changes, and
// what it only inherits is this summary, not one finding per grant. Its
// severity is the policy's for overlay.inherited (low by default).
func inherited(p render.Rendered, own []report.Finding) report.Finding {
	var paths []string
	for _, b := range p.BuiltOn {
		paths = append(paths, b.Path)
	}
	what := strings.Join(paths, " and ")
	var placed []string
	if ns := p.Placement["namespace"]; ns != "" {
		placed = append(placed, "placed in namespace "+ns)
	}
	if pre, suf := p.Placement["namePrefix"], p.Placement["nameSuffix"]; pre != "" || suf != "" {
		placed = append(placed, "renamed "+pre+"*"+suf)
	}
	if len(placed) > 0 {
		what += " (" + strings.Join(placed, ", ") + ")"
	}
	return report.Finding{
		ID:       report.ID(report.OverlayInherited, p.Path, what),
		Kind:     report.OverlayInherited,
		Severity: report.Low,
		Overlay:  p.Path,
		Location: report.Location{Path: p.BuiltOn[0].File, Line: p.BuiltOn[0].Line},
		Message: fmt.Sprintf("new overlay %s deploys what %s deploys, plus: %s",
			p.Path, what, additions(p.Base.Objects, p.Head.Objects, own)),
		Risk: "what it inherits is compared with " + what + " as it was at base; only what the new overlay adds or changes is reported as an increase",
	}
}

// additions says in a few words what a new overlay adds to what it builds
// on: the objects of its own and who gains access.
func additions(base, head []*manifest.Object, own []report.Finding) string {
	had := map[string]bool{}
	for _, o := range base {
		had[o.Identity()] = true
	}
	var objs []string
	for _, o := range head {
		if !had[o.Identity()] {
			objs = append(objs, o.String())
		}
	}
	var parts []string
	if len(objs) > 0 {
		noun := "objects"
		if len(objs) == 1 {
			noun = "object"
		}
		parts = append(parts, fmt.Sprintf("%d %s of its own (%s)", len(objs), noun, shortList(objs, 3)))
	}
	var gain []string
	for _, f := range own {
		grows := f.Kind == report.RBACIncrease || f.Kind == report.RBACEscalation
		if grows && f.Subject != nil && !slices.Contains(gain, f.Subject.String()) {
			gain = append(gain, f.Subject.String())
		}
	}
	if len(gain) > 0 {
		parts = append(parts, fmt.Sprintf("more access for %s (findings of this overlay)", shortList(gain, 3)))
	} else {
		parts = append(parts, "no access beyond it")
	}
	return strings.Join(parts, "; ")
}

// shortList joins the first n items and counts the rest.
func shortList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
