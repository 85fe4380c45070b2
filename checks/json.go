package checks

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/rbacguard/rbacguard/diff/report"
)

// WriteJSON writes the report in its versioned JSON contract (package
// report),
// indented by two spaces, with a trailing newline. Empty lists are written
// as [] rather than null so that consumers need no special case.
func WriteJSON(w io.Writer, r *report.Report) error {
	if r == nil {
		return fmt.Errorf("write json report: no report")
	}
	c := *r
	if c.Overlays == nil {
		c.Overlays = []report.Overlay{}
	}
	c.Findings = make([]report.Finding, len(r.Findings))
	for i, f := range r.Findings {
		if f.Permission != nil {
			p := *f.Permission
			for _, s := range []*[]string{&p.Verbs, &p.APIGroups, &p.Resources, &p.ResourceNames, &p.NonResourceURLs} {
				if *s == nil {
					*s = []string{}
				}
			}
			f.Permission = &p
		}
		c.Findings[i] = f
	}
	if c.Summary == nil {
		c.Summary = map[report.Severity]int{}
		for _, s := range report.Severities {
			c.Summary[s] = 0
		}
		for _, f := range r.Findings {
			c.Summary[f.Severity]++
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
