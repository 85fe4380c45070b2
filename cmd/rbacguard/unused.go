package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/audit"
	"github.com/rbacguard/rbacguard/diff/report"
)

func newUnusedCmd(e *env) *cobra.Command {
	var f reportFlags
	var logs []string
	var suggest bool
	c := &cobra.Command{
		Use:   "unused --audit-log FILE... [REV|DIR]",
		Short: "Report the grants no request in the API server's audit log used",
		Long: `unused reads the API server's audit log (audit.k8s.io/v1 Events, one JSON object a
line as --audit-log-format=json writes them; gzip too) and compares it with what
the tree grants: for each service account, user and group its bindings name, each
rule (file:line) that no logged request of that subject used between the log's
first and last event (rbac.unused, info), and the requests the authorizer denied
them. The subject of a request is the impersonated user when it impersonated one;
a request is counted once however many stages were logged. With --suggest it
prints, per subject, the smallest Role or ClusterRole without wildcards that
covers what it did, with its binding. The exit code is 0 whatever the answer.`,
		Example: `  rbacguard unused --audit-log /var/log/kubernetes/audit.log
  rbacguard unused --audit-log audit-1.log.gz --audit-log audit-2.log.gz main -o json
  rbacguard unused --audit-log audit.log --suggest deploy/`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(logs) == 0 {
				return fmt.Errorf("no audit log: name one or more with --audit-log FILE")
			}
			if f.output != "text" && f.output != "json" {
				return fmt.Errorf("--output %s: the answer of unused is text or json", f.output)
			}
			t, o, err := f.openOne(c, args)
			if err != nil {
				return err
			}
			res, err := diff.Unused(c.Context(), t.Tree, logs, o)
			if err != nil {
				return err
			}
			return writeUnused(e.stdout, res, t.Rev(), string(f.output), suggest)
		},
	}
	f.register(c)
	c.Flags().StringSliceVar(&logs, "audit-log", nil, "audit log file, JSON lines, plain or gzip (repeatable)")
	c.Flags().BoolVar(&suggest, "suggest", false, "print, per subject, the smallest roles that cover what it was logged doing")
	return c
}

// unusedAnswer is the JSON answer of unused: versioned like the report.
type unusedAnswer struct {
	Version  int             `json:"version"`
	Head     string          `json:"head"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	Events   int64           `json:"events"`
	Requests int64           `json:"requests"`
	Denied   int64           `json:"denied"`
	Overlays []unusedOverlay `json:"overlays"`
}

type unusedOverlay struct {
	Path        string           `json:"path"`
	Status      string           `json:"status"`
	Error       string           `json:"error,omitempty"`
	Findings    []report.Finding `json:"findings"`
	Denied      []audit.Denied   `json:"denied"`
	Suggestions []string         `json:"suggestions,omitempty"` // YAML, one per role
}

func writeUnused(w io.Writer, res *diff.UnusedResult, head, format string, suggest bool) error {
	win := res.Tally.Window
	a := unusedAnswer{Version: report.Version, Head: head, From: win.First.UTC().Format("2006-01-02T15:04:05Z"), To: win.Last.UTC().Format("2006-01-02T15:04:05Z"),
		Events: res.Tally.Events, Requests: res.Tally.Requests, Denied: res.Tally.Denied, Overlays: []unusedOverlay{}}
	for _, us := range res.Overlays {
		ov := unusedOverlay{Path: us.Overlay, Status: report.OverlayRendered, Findings: us.Findings(win), Denied: us.Denials()}
		if ov.Findings == nil {
			ov.Findings = []report.Finding{}
		}
		if ov.Denied == nil {
			ov.Denied = []audit.Denied{}
		}
		if suggest {
			for _, s := range us.Suggestions() {
				var b strings.Builder
				if err := s.WriteYAML(&b); err != nil {
					return err
				}
				ov.Suggestions = append(ov.Suggestions, b.String())
			}
		}
		a.Overlays = append(a.Overlays, ov)
	}
	for _, f := range res.Failed {
		a.Overlays = append(a.Overlays, unusedOverlay{Path: f.Path, Status: f.Status, Error: f.Error, Findings: []report.Finding{}, Denied: []audit.Denied{}})
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	}
	fmt.Fprintf(w, "audit log: %d events, %d requests (%d denied) between %s and %s (%d days)\n", a.Events, a.Requests, a.Denied, a.From, a.To, win.Days())
	for _, ov := range a.Overlays {
		fmt.Fprintf(w, "\n== %s", ov.Path)
		if ov.Error != "" {
			fmt.Fprintf(w, ": not rendered, no answer: %s\n", ov.Error)
			continue
		}
		fmt.Fprintf(w, ": %d unused grant(s), %d denied request(s)\n", len(ov.Findings), len(ov.Denied))
		for _, f := range ov.Findings {
			fmt.Fprintf(w, "info rbac.unused %s:%d\n  %s\n", f.Location.Path, f.Location.Line, f.Message)
		}
		for _, d := range ov.Denied {
			fmt.Fprintf(w, "denied %s: %s (%d times)\n", d.Subject, d.Request, d.Count)
		}
		for _, s := range ov.Suggestions {
			fmt.Fprintf(w, "\n%s", s)
		}
	}
	return nil
}
