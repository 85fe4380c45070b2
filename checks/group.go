package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// item is what a reader sees as one finding: atomic findings that differ
// only in their verb are merged, so "get, list, watch secrets" is one line
// and not three. Severity is the highest of the members.
type item struct {
	Severity report.Severity
	Rep      report.Finding   // the most severe member; carries message, via, location
	Members  []report.Finding // in report order
	Verbs    []string         // union of the members' verbs, nil without a permission
}

// IDs returns the finding ids of the members, in member order.
func (it item) IDs() []string {
	ids := make([]string, len(it.Members))
	for i, f := range it.Members {
		ids[i] = f.ID
	}
	return ids
}

// Message is the representative's message with the merged verbs.
func (it item) Message() string {
	if m, ok := driftMessage(it); ok {
		return m
	}
	m := it.Rep.Message
	if len(it.Members) < 2 || it.Rep.Permission == nil {
		return m
	}
	old := it.Rep.Permission.String()
	merged := *it.Rep.Permission
	merged.Verbs = it.Verbs
	if strings.Contains(m, old) {
		return strings.Replace(m, old, merged.String(), 1)
	}
	return m + " (verbs: " + strings.Join(it.Verbs, ", ") + ")"
}

// ShortMessage drops the subject from the start of the message, for
// outputs that already group findings under their subject.
func (it item) ShortMessage() string {
	m := it.Message()
	if s := it.Rep.Subject; s != nil {
		for _, name := range []string{s.String(), subjectName(s)} {
			if rest, ok := strings.CutPrefix(m, name+" "); ok {
				return rest
			}
		}
	}
	return m
}

// ordered returns a sorted copy of the report's findings, leaving the
// report untouched.
func ordered(r *report.Report) []report.Finding {
	if r == nil {
		return nil
	}
	fs := shown(r.Findings)
	report.Sort(fs)
	return fs
}

// mergeKey is everything that must be equal for two findings to be shown as
// one line: all but the verbs (and the message and risk, which follow from
// the verb).
func mergeKey(f report.Finding) (string, bool) {
	if f.Permission == nil {
		return "", false
	}
	if k, ok := driftKey(f); ok {
		return k, true
	}
	p := f.Permission
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s\x00", f.Overlay, f.Kind, subjectKey(f.Subject))
	if f.Scope != nil {
		fmt.Fprintf(&b, "%v\x00", *f.Scope)
	}
	fmt.Fprintf(&b, "%q\x00%q\x00%q\x00%q\x00", p.APIGroups, p.Resources, p.ResourceNames, p.NonResourceURLs)
	for _, v := range f.Via {
		fmt.Fprintf(&b, "%+v\x01", v)
	}
	fmt.Fprintf(&b, "\x00%s\x00", f.Location)
	if len(f.Path) > 0 {
		fmt.Fprintf(&b, "path:%s\x00", f.Message) // one identity reached each: never merged
	}
	if f.Exemption != nil {
		fmt.Fprintf(&b, "exempt:%+v", *f.Exemption)
	}
	return b.String(), true
}

// merge groups findings into items, keeping the order of first appearance
// and then sorting by severity so the most severe item comes first.
func merge(fs []report.Finding) []item {
	var items []item
	index := map[string]int{}
	for _, f := range fs {
		key, ok := mergeKey(f)
		if ok {
			if i, seen := index[key]; seen {
				it := &items[i]
				it.Members = append(it.Members, f)
				if f.Severity.Rank() > it.Severity.Rank() {
					it.Severity, it.Rep = f.Severity, f
				}
				for _, v := range f.Permission.Verbs {
					if !slices.Contains(it.Verbs, v) {
						it.Verbs = append(it.Verbs, v)
					}
				}
				continue
			}
			index[key] = len(items)
		}
		it := item{Severity: f.Severity, Rep: f, Members: []report.Finding{f}}
		if f.Permission != nil {
			it.Verbs = slices.Clone(f.Permission.Verbs)
		}
		items = append(items, it)
	}
	for i := range items {
		items[i].Verbs = report.SortVerbs(items[i].Verbs)
		foldDrift(&items[i])
	}
	slices.SortStableFunc(items, func(a, b item) int { return b.Severity.Rank() - a.Severity.Rank() })
	return items
}

func subjectKey(s *report.Subject) string {
	if s == nil {
		return ""
	}
	return s.Kind + "/" + s.Namespace + "/" + s.Name
}

// group is the findings of one (overlay, subject) pair.
type group struct {
	Overlay string
	Subject *report.Subject
	Items   []item
}

func (g group) Severity() report.Severity {
	if len(g.Items) == 0 {
		return report.Info
	}
	return g.Items[0].Severity
}

func (g group) count() int {
	n := 0
	for _, it := range g.Items {
		n += len(it.Members)
	}
	return n
}

// groupBySubject merges findings and groups them by overlay and subject
// (groupItems).
func groupBySubject(fs []report.Finding) []group { return groupItems(merge(fs)) }

// groupItems groups merged findings by overlay and subject; groups come
// most severe first, then by overlay and subject name.
func groupItems(items []item) []group {
	var gs []group
	index := map[string]int{}
	for _, it := range items {
		key := it.Rep.Overlay + "\x00" + subjectKey(it.Rep.Subject)
		i, ok := index[key]
		if !ok {
			i = len(gs)
			index[key] = i
			gs = append(gs, group{Overlay: it.Rep.Overlay, Subject: it.Rep.Subject})
		}
		gs[i].Items = append(gs[i].Items, it)
	}
	slices.SortStableFunc(gs, func(a, b group) int {
		if c := b.Severity().Rank() - a.Severity().Rank(); c != 0 {
			return c
		}
		if c := strings.Compare(a.Overlay, b.Overlay); c != 0 {
			return c
		}
		return strings.Compare(subjectKey(a.Subject), subjectKey(b.Subject))
	})
	return gs
}

// counts tallies findings per severity.
type counts map[report.Severity]int

func countFindings(fs []report.Finding, keep func(report.Finding) bool) counts {
	c := counts{}
	for _, f := range fs {
		if keep == nil || keep(f) {
			c[f.Severity]++
		}
	}
	return c
}

func (c counts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// list reads "1 critical, 2 high"; severities with no findings are left out.
func (c counts) list() string {
	var parts []string
	for _, s := range report.Severities {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// failOn is the report's gate threshold, high when unset.
func failOn(r *report.Report) report.Severity {
	if r == nil || r.FailOn == "" {
		return report.High
	}
	return r.FailOn
}

// blocking reports whether f counts against the gate.
func blocking(r *report.Report, f report.Finding) bool {
	t := failOn(r)
	return f.Exemption == nil && t != report.None && f.Severity.AtLeast(t)
}
