package diff

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/change"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
)

// chartInputs lists the charts an overlay rendered from a repository or
// a registry, for the report's overlays[].inputs: the chart's URL, the
// version asked for and the digest of what was rendered.
func chartInputs(charts []render.Chart) []report.RemoteInput {
	var out []report.RemoteInput
	for _, c := range charts {
		if c.Repo == "" || c.Dir != "" { // in the repository
			continue
		}
		out = append(out, report.RemoteInput{Path: c.Path, Line: c.VersionLine, URL: chartURL(c), Ref: c.Version, Commit: c.Digest})
	}
	return out
}

func chartURL(c render.Chart) string {
	return strings.TrimSuffix(c.Repo, "/") + "/" + c.Name
}

// fromChart points the findings whose objects a Helm chart rendered at
// the line a reviewer reads: the chart's template when the change edits
// it (a local chart), else the values the change edits, else the entry's
// version (a chart bump), else the template (a local chart) or the entry.
// The message says which chart and versions: "(from chart cert-manager
// v1.15.0 → v1.16.0, templates/rbac.yaml)". base is nil in a scan, and ch
// then too.
func fromChart(findings []report.Finding, base, head *render.Result, ch *change.Set) []report.Finding {
	out := findings[:0]
	first := firstCharts{}
	for i := range findings {
		f := &findings[i]
		// A chain may pass through a chart whatever the finding's own
		// line is (a kustomization's patch of a chart's role): a decrease's
		// chain is the base's, any other the head's.
		sides := []*render.Result{head, base}
		if f.Kind == report.RBACDecrease {
			sides = []*render.Result{base, head}
		}
		chartVia(f.Via, sides...)
		for _, st := range f.Path {
			for _, g := range st.Grants {
				chartVia(g.Via, sides...)
			}
		}
		c, side := chartAt(f.Location.Path, head), head
		if c == nil && base != nil {
			c, side = chartAt(f.Location.Path, base), base
		}
		if c == nil {
			out = append(out, *f)
			continue
		}
		hc, bc := sameChart(*c, head), sameChart(*c, base)
		entry := c
		if hc != nil {
			entry = hc
		}
		inChart, _, _ := c.Template(f.Location.Path, f.Location.Line)
		if side == head && bc == nil && firstRendered(*c, base, ch) && f.Kind != report.RBACDecrease {
			first.add(*c, f)
		}
		f.Location = chartLocation(f.Location, *c, *entry, bc, side == head, ch)
		if n := len(f.Via); ch != nil && n > 0 && f.Via[n-1].Path == f.Location.Path && f.Via[n-1].Line <= f.Location.Line {
			// The template changed: its first edited line of the rule, as
			// for a rule of the repository's own files.
			if l := ch.FirstLine(f.Location.Path, f.Via[n-1].Line, f.Location.Line); l > 0 {
				f.Location.Line = l
			}
		}
		versions := chartVersions(bc, hc)
		if hc == nil && head != nil && skippedChart(head.Skipped, *c) {
			if f.Kind == report.RBACDecrease {
				// Not rendered at head is not known to be gone: the skipped
				// chart is reported (render.partial), its grants are not
				// told as lost.
				continue
			}
			versions = c.Version + ", not rendered at head"
		}
		f.Message += fmt.Sprintf(" (from chart %s %s, %s)", c.Name, versions, inChart)
		for j := range f.AlsoAt {
			if a := chartAt(f.AlsoAt[j].Path, side); a != nil {
				f.AlsoAt[j] = chartLocation(f.AlsoAt[j], *a, *a, nil, side == head, nil)
			}
		}
		f.AlsoAt = slices.DeleteFunc(f.AlsoAt, func(l report.Location) bool { return l == f.Location })
		f.AlsoAt = slices.Compact(f.AlsoAt)
		out = append(out, *f)
	}
	return append(out, first.findings()...)
}

// firstRendered reports whether chart c renders at head for the first
// time: the base cut it out (a version range, a host not allowed, a
// failed fetch) and the change edits nothing of its entry but the
// version line, nor a values file. What it grants then is what the
// cluster runs already, not this change's doing.
func firstRendered(c render.Chart, base *render.Result, ch *change.Set) bool {
	if base == nil || ch == nil || !skippedChart(base.Skipped, c) {
		return false
	}
	for l := c.Line; l <= max(c.Line, c.EndLine); l++ {
		if l != c.VersionLine && ch.Line(c.Path, l) {
			return false
		}
	}
	for _, v := range c.Values {
		if v.Line == 0 && ch.Files()[v.Path] {
			return false
		}
	}
	if c.Dir != "" {
		for f := range ch.Files() {
			if strings.HasPrefix(f, c.Dir+"/") {
				return false
			}
		}
	}
	return true
}

// skippedChart reports whether skipped holds chart c's entry: cut out, it
// rendered nothing on that side.
func skippedChart(skipped []render.Skipped, c render.Chart) bool {
	return slices.ContainsFunc(skipped, func(s render.Skipped) bool {
		return s.Path == c.Path && (s.Line == c.Line || s.What == "chart "+c.Name || strings.HasPrefix(s.What, "chart "+c.Name+" "))
	})
}

// firstCharts gathers the findings of charts rendered for the first time
// (firstRendered): each is told at info, and one render.first finding per
// chart counts them.
type firstCharts map[string]*firstChart

type firstChart struct {
	chart   render.Chart
	overlay string
	// worst is the severity of each finding as it will read: one per
	// subject and rule (report.GroupByRule), the most severe of its atoms.
	worst map[string]report.Severity
}

func (fc firstCharts) add(c render.Chart, f *report.Finding) {
	k := c.Path + "\x00" + c.Name + "\x00" + c.Release
	g := fc[k]
	if g == nil {
		g = &firstChart{chart: c, overlay: f.Overlay, worst: map[string]report.Severity{}}
		fc[k] = g
	}
	key := string(f.Kind) + "|" + cause(*f)
	if f.Subject != nil {
		key += "|" + f.Subject.String()
	}
	g.worst[key] = report.Max(g.worst[key], f.Severity)
	f.Preexisting = true
	f.Message += fmt.Sprintf(" (first rendered in this change: the base could not render chart %s)", c.Name)
}

func (fc firstCharts) findings() []report.Finding {
	var out []report.Finding
	for _, k := range slices.Sorted(maps.Keys(fc)) {
		g := fc[k]
		count := map[report.Severity]int{}
		for _, sev := range g.worst {
			count[sev]++
		}
		var counts []string
		for _, sev := range []report.Severity{report.Critical, report.High, report.Medium, report.Low, report.Info} {
			if n := count[sev]; n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", n, sev))
			}
		}
		c := g.chart
		out = append(out, report.Finding{
			ID:       report.ID(report.RenderFirst, g.overlay, c.Path, c.Name, c.Release),
			Kind:     report.RenderFirst,
			Severity: report.Medium,
			Overlay:  g.overlay,
			Location: report.Location{Path: c.Path, Line: c.VersionLine},
			Message: fmt.Sprintf("chart %s %s renders for the first time in this change (the base could not render it): what it grants was never checked — %s; each is told at info, as the cluster may run it already",
				c.Name, c.Version, strings.Join(counts, ", ")),
			Risk: "review what the chart grants once (rbacguard scan lists it), and exempt what is intended",
		})
	}
	return out
}

// chartLocation is where a finding located at at, in what chart c
// rendered, is reported; entry is the chart's entry at head (c's own when
// gone), base the chart at base (nil when new, or in a scan).
func chartLocation(at report.Location, c, entry render.Chart, base *render.Chart, atHead bool, ch *change.Set) report.Location {
	tpl, ok := templateInRepo(c, at)
	if atHead && ch != nil {
		if ok && ch.Files()[tpl.Path] {
			return tpl
		}
		if base != nil && base.ValuesDigest != entry.ValuesDigest {
			for _, v := range entry.Values {
				if l := ch.FirstLine(v.Path, max(v.Line, 1), v.EndLine); l > 0 {
					return report.Location{Path: v.Path, Line: l}
				}
			}
		}
	}
	if ok && (base == nil || base.Digest == entry.Digest || c.Repo == "") {
		return tpl
	}
	return report.Location{Path: entry.Path, Line: entry.VersionLine}
}

// templateInRepo is the line of a local chart's template that rendered
// at; ok is false for a fetched chart, or a line it cannot place.
func templateInRepo(c render.Chart, at report.Location) (report.Location, bool) {
	inChart, line, ok := c.Template(at.Path, at.Line)
	if !ok || !c.InRepository(at.Path) || line == 0 {
		return report.Location{}, false
	}
	return report.Location{Path: path.Join(c.Dir, inChart), Line: line}, true
}

// chartVia names the files of a chain that a chart rendered as the
// chart's templates: the repository's file for a local chart, else
// "chart <repo>/<name>@<version>: templates/x.yaml". A file is looked for
// in each result in turn (head, then base).
func chartVia(via []report.Ref, rs ...*render.Result) {
	for i := range via {
		var c *render.Chart
		for _, r := range rs {
			if c = chartAt(via[i].Path, r); c != nil {
				break
			}
		}
		if c == nil {
			continue
		}
		if tpl, ok := templateInRepo(*c, report.Location{Path: via[i].Path, Line: via[i].Line}); ok {
			via[i].Path, via[i].Line = tpl.Path, tpl.Line
			continue
		}
		inChart, line, _ := c.Template(via[i].Path, via[i].Line)
		name := c.Name
		if c.Repo != "" {
			name = chartURL(*c)
		}
		via[i].Path, via[i].Line = fmt.Sprintf("chart %s@%s: %s", name, c.Version, inChart), line
	}
}

// chartAt is the chart whose rendered files hold p, nil when none does.
func chartAt(p string, r *render.Result) *render.Chart {
	if r == nil || !strings.HasPrefix(p, render.HelmDir+"/") {
		return nil
	}
	for i := range r.Charts {
		if strings.HasPrefix(p, r.Charts[i].Mount+"/") {
			return &r.Charts[i]
		}
	}
	return nil
}

// sameChart is r's entry for the same chart: the same kustomization,
// chart name and release.
func sameChart(c render.Chart, r *render.Result) *render.Chart {
	if r == nil {
		return nil
	}
	for i := range r.Charts {
		o := &r.Charts[i]
		if o.Path == c.Path && o.Name == c.Name && o.Release == c.Release {
			return o
		}
	}
	return nil
}

func chartVersions(base, head *render.Chart) string {
	switch {
	case head == nil && base != nil:
		return base.Version + ", removed"
	case head == nil:
		return ""
	case base == nil:
		return head.Version
	case base.Version != head.Version:
		return base.Version + " → " + head.Version
	}
	return head.Version
}
