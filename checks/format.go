package checks

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// The formatters every output shares: subjects, chains, places,
// workloads, exemptions and counts read the same in text, Markdown, the
// check run and review comments.

// subjectName is the heading of a subject group.
func subjectName(s *report.Subject) string {
	if s == nil {
		return "(no subject)"
	}
	if s.Kind == "ClusterRole" {
		return "everyone bound to ClusterRole " + s.Name
	}
	return s.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// refString formats one link of a chain like report.Ref.String, with the
// path passed through display and line 0 left out.
func refString(r report.Ref, display func(string) string) string {
	s := r.Object()
	if r.Path != "" {
		s += " (" + locString(report.Location{Path: r.Path, Line: r.Line}, display) + ")"
	}
	return s
}

func locString(l report.Location, display func(string) string) string {
	p := l.Path
	if display != nil {
		p = display(p)
	}
	if l.Line > 0 {
		return p + ":" + strconv.Itoa(l.Line)
	}
	return p
}

// chain is the via chain on one line.
func chain(via []report.Ref, display func(string) string) string {
	parts := make([]string, len(via))
	for i, r := range via {
		parts[i] = refString(r, display)
	}
	return strings.Join(parts, " → ")
}

// runsIn says whose pods hold a finding's power: "every pod" for the
// groups every account is in, else its workloads; "" for none.
func runsIn(f report.Finding) string {
	if f.Subject != nil && f.Permission != nil {
		if every := f.Subject.EveryPod(); every != "" {
			return every
		}
	}
	return workloads(f.Workloads)
}

// overlayList names the other overlays of a finding: "overlays a, b and
// 3 more".
func overlayList(overlays []string) string {
	word := "overlay "
	if len(overlays) > 1 {
		word = "overlays "
	}
	if len(overlays) <= maxWorkloads {
		return word + strings.Join(overlays, ", ")
	}
	return fmt.Sprintf("%s%s and %d more", word, strings.Join(overlays[:maxWorkloads], ", "), len(overlays)-maxWorkloads)
}

// workloads lists at most maxWorkloads names and says how many more.
func workloads(ws []report.Workload) string {
	var parts []string
	for i, w := range ws {
		if i == maxWorkloads {
			parts = append(parts, fmt.Sprintf("and %d more", len(ws)-maxWorkloads))
			break
		}
		parts = append(parts, workloadString(w))
	}
	return strings.Join(parts, ", ")
}

func workloadString(w report.Workload) string {
	if w.Namespace == "" {
		return w.Kind + " " + w.Name
	}
	return w.String()
}

// exemptionString reads "reason (expires 2027-01-01, from policy.yaml:3)".
func exemptionString(e *report.Exemption) string {
	s := e.Reason
	if s == "" {
		s = "no reason given"
	}
	var extra []string
	if e.Expires != "" {
		extra = append(extra, "expires "+e.Expires)
	}
	if e.Source != "" {
		extra = append(extra, "from "+e.Source)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// prefixPath returns a display function that joins prefix before a
// repository path, or nil when there is no prefix.
func prefixPath(prefix string) func(string) string {
	if prefix == "" {
		return nil
	}
	return func(p string) string {
		if p == "" {
			return p
		}
		return filepath.Join(prefix, filepath.FromSlash(p))
	}
}

// maxWorkloads is how many workload names a line shows before "and N more".
const maxWorkloads = 5
