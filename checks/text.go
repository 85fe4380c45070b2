package checks

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// TextOptions tune the terminal output.
type TextOptions struct {
	// Color adds ANSI colours by severity. Callers set it only for a
	// terminal (and not when NO_COLOR is set).
	Color bool
	// PathPrefix is joined before every repository path shown, so that
	// paths can be opened from the current directory when the tree was
	// given as a directory.
	PathPrefix string
}

// ANSI colours, one per severity.
func color(s report.Severity) string {
	switch s {
	case report.Critical:
		return "\x1b[1;31m"
	case report.High:
		return "\x1b[31m"
	case report.Medium:
		return "\x1b[33m"
	case report.Low:
		return "\x1b[36m"
	}
	return "\x1b[2m"
}

const ansiReset = "\x1b[0m"

// WriteText writes the report for a terminal: a header, the overlays that
// failed, findings grouped by overlay and subject (most severe first), and
// a one-line verdict at the end, where the eye lands after a long run.
func WriteText(w io.Writer, r *report.Report, o TextOptions) error {
	if r == nil {
		return fmt.Errorf("write text report: no report")
	}
	bw := bufio.NewWriter(w)
	display := prefixPath(o.PathPrefix)
	paint := func(s report.Severity, text string) string {
		if !o.Color {
			return text
		}
		return color(s) + text + ansiReset
	}
	fs := ordered(r)
	all := countFindings(fs, nil)

	mode := r.Mode
	if mode == "" {
		mode = "diff"
		if r.Base == "" {
			mode = "scan"
		}
	}
	revs := report.RevLabel(r.HeadName, r.Head)
	if r.Base != "" {
		revs = report.RevLabel(r.BaseName, r.Base) + " → " + report.RevLabel(r.HeadName, r.Head)
	}
	var cs []string
	for _, s := range report.Severities {
		cs = append(cs, fmt.Sprintf("%s %d", s, all[s]))
	}
	fmt.Fprintf(bw, "rbacguard %s %s: %s (%s)\n", mode, revs, r.Verdict, strings.Join(cs, ", "))
	fmt.Fprintf(bw, "%s\n", coverage(r))

	if failed := failedOverlays(r); len(failed) > 0 {
		fmt.Fprintf(bw, "\n%s:\n", plural(len(failed), "overlay failed to render", "overlays failed to render"))
		for _, ov := range failed {
			fmt.Fprintf(bw, "  %s: %s\n", pathOr(ov.Path, display), oneLine(ov.Error))
		}
	}

	// Overlay, then subject: the reader fixes one overlay at a time.
	gs := groupBySubject(fs)
	var overlays []string
	byOverlay := map[string][]group{}
	for _, g := range gs {
		if _, ok := byOverlay[g.Overlay]; !ok {
			overlays = append(overlays, g.Overlay)
		}
		byOverlay[g.Overlay] = append(byOverlay[g.Overlay], g)
	}
	for _, ov := range overlays {
		name := ov
		if name == "" {
			name = "(repository)"
		} else if display != nil {
			name = display(name)
		}
		fmt.Fprintf(bw, "\n%s\n", name)
		for _, g := range byOverlay[ov] {
			fmt.Fprintf(bw, " %s\n", subjectName(g.Subject))
			for _, it := range g.Items {
				f := it.Rep
				line := fmt.Sprintf("  %s  %s  (%s)", paint(it.Severity, strings.ToUpper(string(it.Severity))), oneLine(it.ShortMessage()), f.Kind)
				if f.Exemption != nil {
					line += "  [exempted: " + oneLine(exemptionString(f.Exemption)) + "]"
				}
				fmt.Fprintln(bw, line)
				if len(f.Via) > 0 {
					fmt.Fprintf(bw, "      via %s\n", chain(f.Via, display))
				}
				if len(f.Path) > 0 {
					fmt.Fprintln(bw, "      path:")
				}
				for _, l := range pathStepLines(f.Path, oneLine, func(v []report.Ref) string { return chain(v, display) }) {
					fmt.Fprintf(bw, "        %s\n", l)
				}
				if in := runsIn(f); in != "" {
					fmt.Fprintf(bw, "      runs in: %s\n", in)
				}
				if f.Location.Path != "" {
					fmt.Fprintf(bw, "      at %s\n", locString(f.Location, display))
				}
				for _, l := range f.AlsoAt {
					fmt.Fprintf(bw, "      also at %s\n", locString(l, display))
				}
				if len(f.AlsoIn) > 0 {
					fmt.Fprintf(bw, "      also in %s\n", overlayList(f.AlsoIn))
				}
			}
		}
	}

	fmt.Fprintln(bw)
	fmt.Fprintln(bw, verdictLine(r, fs, paint))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

// verdictLine is the last line of the text output.
func verdictLine(r *report.Report, fs []report.Finding, paint func(report.Severity, string) string) string {
	t := failOn(r)
	if t == report.None {
		return "PASS: the gate is off (fail-on none)"
	}
	n := countFindings(fs, func(f report.Finding) bool { return blocking(r, f) }).total()
	exempted := countFindings(fs, func(f report.Finding) bool { return f.Exemption != nil && f.Severity.AtLeast(t) }).total()
	suffix := ""
	if exempted > 0 {
		suffix = fmt.Sprintf(" (%s exempted)", plural(exempted, "finding", "findings"))
	}
	if r.Verdict == report.Fail || n > 0 {
		if n == 0 {
			return paint(report.Critical, "FAIL") + ": the gate failed" + suffix
		}
		return fmt.Sprintf("%s: %s at or above %s%s", paint(report.Critical, "FAIL"), plural(n, "finding", "findings"), t, suffix)
	}
	return fmt.Sprintf("PASS: no findings at or above %s%s", t, suffix)
}

func failedOverlays(r *report.Report) []report.Overlay {
	var out []report.Overlay
	for _, ov := range r.Overlays {
		if ov.Status == report.OverlayFailed {
			out = append(out, ov)
		}
	}
	return out
}

func partialOverlays(r *report.Report) []report.Overlay {
	var out []report.Overlay
	for _, ov := range r.Overlays {
		if ov.Status == report.OverlayPartial {
			out = append(out, ov)
		}
	}
	return out
}

func pathOr(p string, display func(string) string) string {
	if p == "" {
		return "(repository)"
	}
	if display != nil {
		return display(p)
	}
	return p
}

// oneLine folds a multi-line text (a kustomize error, say) onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
