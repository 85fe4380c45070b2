package checks

import (
	"fmt"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// coverage is the one line that says what a green check covered: how many
// overlays were checked, how many only in part and how many inputs that
// left unchecked, and how many failed to render. Text, Markdown, the job
// summary and the check run all show it, so a pass never hides a gap.
func coverage(r *report.Report) string {
	var checked, partial, inputs, failed, standIns int
	for _, ov := range r.Overlays {
		switch ov.Status {
		case report.OverlayFailed:
			failed++
			continue
		case report.OverlayPartial:
			partial++
			inputs += len(ov.Skipped)
		}
		checked++
		if ov.StandsInFor != "" {
			standIns++
		}
	}
	s := plural(checked, "overlay", "overlays") + " checked"
	var notes []string
	if partial > 0 {
		notes = append(notes, fmt.Sprintf("%d partial: %s not checked", partial, plural(inputs, "input", "inputs")))
	}
	if standIns > 0 {
		notes = append(notes, fmt.Sprintf("%d in place of an overlay that does not render", standIns))
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, "; ") + ")"
	}
	s += fmt.Sprintf(", %d failed to render", failed)
	if n := preexisting(r); n > 0 {
		s += fmt.Sprintf("; %s at base too, not from this change", plural(n, "problem exists", "problems exist"))
	}
	return s + passedOver(r.SkippedDirs)
}

// passedOver names the directories passed over as not deployed (the
// first few; the JSON lists all), so that what was not looked at is said.
func passedOver(dirs []report.SkippedDir) string {
	if len(dirs) == 0 {
		return ""
	}
	var names []string
	for _, d := range dirs[:min(len(dirs), 3)] {
		names = append(names, d.Path)
	}
	if len(dirs) > 3 {
		names = append(names, fmt.Sprintf("%d more", len(dirs)-3))
	}
	return fmt.Sprintf("; %s passed over as not deployed (%s; --include to check)",
		plural(len(dirs), "directory", "directories"), strings.Join(names, ", "))
}

// preexisting counts the findings a diff keeps only for tools: problems
// whose cause exists at the base too. They are not shown as findings.
func preexisting(r *report.Report) int {
	n := 0
	for _, f := range r.Findings {
		if f.Preexisting {
			n++
		}
	}
	return n
}

// shown drops the preexisting findings: what a reader sees is what the
// change did.
func shown(fs []report.Finding) []report.Finding {
	out := fs[:0:0]
	for _, f := range fs {
		if !f.Preexisting {
			out = append(out, f)
		}
	}
	return out
}
