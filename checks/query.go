package checks

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Answers of the query commands (who-can, can-i, can-i --list) in the
// formats of the report: text for a terminal, the versioned JSON of
// package query, and Markdown for a pull request or a job summary.

// QueryFormat is one of "text", "json" or "markdown".
type QueryFormat string

// WriteWhoCan writes who-can's answer. Each subject is listed once per
// overlay with every way it can (scope and chain), the workloads holding
// its token, and "(built in)" when only Kubernetes' own bindings let it.
func WriteWhoCan(w io.Writer, a *query.WhoCanAnswer, f QueryFormat, o TextOptions) error {
	if a == nil {
		return fmt.Errorf("write who-can answer: no answer")
	}
	if f == "json" {
		return writeQueryJSON(w, a)
	}
	md := f == "markdown"
	bw := bufio.NewWriter(w)
	display := prefixPath(o.PathPrefix)
	q := "who can " + a.Request.String()
	if a.Base != "" {
		q = "who newly can " + a.Request.String() + " (" + report.ShortRev(a.Base) + " → " + report.ShortRev(a.Head) + ")"
	}
	heading(bw, md, 2, "rbacguard "+q)
	for _, ov := range a.Overlays {
		fmt.Fprintln(bw)
		heading(bw, md, 3, "overlay "+pathOr(ov.Path, display))
		switch {
		case ov.Error != "":
			bullet(bw, md, 0, txt(md, "no answer: the overlay did not render: "+oneLine(ov.Error)))
			continue
		}
		unread(bw, md, ov.Unread)
		if len(ov.Subjects) == 0 {
			bullet(bw, md, 0, txt(md, "nobody"))
			continue
		}
		for _, h := range ov.Subjects {
			who := h.Subject.String()
			if h.Subject.Kind == "ClusterRole" {
				who = "everyone bound to ClusterRole " + h.Subject.Name + " (bound outside the repository)"
			}
			if h.Builtin {
				who += " (built in)"
			}
			bullet(bw, md, 0, emph(md, who))
			for _, wy := range h.Ways {
				where := wy.Scope.String() + ": "
				if h.Subject.Kind == "ClusterRole" {
					where = "wherever it is bound: " // its bindings are not in the tree
				}
				bullet(bw, md, 1, txt(md, where)+viaString(wy.Via, md, display))
			}
			if len(h.Workloads) > 0 {
				bullet(bw, md, 1, txt(md, "workloads holding the token: "+workloads(h.Workloads)))
			}
		}
	}
	return bw.Flush()
}

// WriteCanI writes can-i's answer: yes or no per overlay, and the chain
// that allows it.
func WriteCanI(w io.Writer, a *query.CanIAnswer, f QueryFormat, o TextOptions) error {
	if a == nil {
		return fmt.Errorf("write can-i answer: no answer")
	}
	if f == "json" {
		return writeQueryJSON(w, a)
	}
	md := f == "markdown"
	bw := bufio.NewWriter(w)
	display := prefixPath(o.PathPrefix)
	heading(bw, md, 2, fmt.Sprintf("rbacguard can-i: can %s (groups %s) %s?", a.Identity.As, strings.Join(a.Identity.Groups, ", "), a.Request))
	for _, ov := range a.Overlays {
		switch {
		case ov.Error != "":
			bullet(bw, md, 0, txt(md, pathOr(ov.Path, display)+": no answer: the overlay did not render: "+oneLine(ov.Error)))
		case ov.Allowed:
			unread(bw, md, ov.Unread)
			bullet(bw, md, 0, txt(md, pathOr(ov.Path, display)+": yes"))
			bullet(bw, md, 1, "via "+viaString(ov.Via, md, display))
		default:
			unread(bw, md, ov.Unread)
			bullet(bw, md, 0, txt(md, pathOr(ov.Path, display)+": no"))
		}
	}
	return bw.Flush()
}

// WriteList writes can-i --list's answer: per overlay and scope, a table
// like kubectl auth can-i --list prints.
func WriteList(w io.Writer, a *query.ListAnswer, f QueryFormat, o TextOptions) error {
	if a == nil {
		return fmt.Errorf("write can-i --list answer: no answer")
	}
	if f == "json" {
		return writeQueryJSON(w, a)
	}
	md := f == "markdown"
	bw := bufio.NewWriter(w)
	display := prefixPath(o.PathPrefix)
	heading(bw, md, 2, fmt.Sprintf("rbacguard can-i --list: what %s (groups %s) can do", a.Identity.As, strings.Join(a.Identity.Groups, ", ")))
	for _, ov := range a.Overlays {
		fmt.Fprintln(bw)
		heading(bw, md, 3, "overlay "+pathOr(ov.Path, display))
		if ov.Error != "" {
			bullet(bw, md, 0, txt(md, "no answer: the overlay did not render: "+oneLine(ov.Error)))
			continue
		}
		unread(bw, md, ov.Unread)
		if len(ov.Scopes) == 0 {
			bullet(bw, md, 0, txt(md, "nothing"))
			continue
		}
		for _, sc := range ov.Scopes {
			title := sc.Scope.String()
			if sc.Scope.Cluster {
				title = "cluster-wide (and in every namespace)"
			}
			if md {
				fmt.Fprintf(bw, "\n%s:\n\n| Resources | Non-Resource URLs | Resource Names | Verbs |\n|---|---|---|---|\n", mdEscape(title))
				for _, r := range sc.Rules {
					fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", mdEscape(r.Resource), mdEscape(brackets(r.NonResourceURLs)), mdEscape(brackets(r.ResourceNames)), mdEscape(brackets(r.Verbs)))
				}
				continue
			}
			fmt.Fprintf(bw, "%s:\n", title)
			tw := tabwriter.NewWriter(bw, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "  Resources\tNon-Resource URLs\tResource Names\tVerbs")
			for _, r := range sc.Rules {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Resource, brackets(r.NonResourceURLs), brackets(r.ResourceNames), brackets(r.Verbs))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// unread warns that an answer may miss what unreadable documents grant.
func unread(w io.Writer, md bool, what []string) {
	for _, u := range what {
		bullet(w, md, 0, txt(md, "warning: not read, so not in this answer: "+oneLine(u)))
	}
}

// brackets prints a list as kubectl's table does: [a b].
func brackets(s []string) string { return "[" + strings.Join(s, " ") + "]" }

func writeQueryJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func heading(w io.Writer, md bool, level int, s string) {
	if md {
		fmt.Fprintf(w, "%s %s\n", strings.Repeat("#", level), mdEscape(s))
		return
	}
	fmt.Fprintln(w, s)
}

func bullet(w io.Writer, md bool, depth int, s string) {
	if md {
		fmt.Fprintf(w, "%s- %s\n", strings.Repeat("  ", depth), s)
		return
	}
	fmt.Fprintf(w, "%s%s\n", strings.Repeat("  ", depth+1), s)
}

// txt is plain text, escaped in Markdown.
func txt(md bool, s string) string {
	if md {
		return mdEscape(s)
	}
	return s
}

func emph(md bool, s string) string {
	if md {
		return "**" + mdEscape(s) + "**"
	}
	return s
}

func viaString(via []report.Ref, md bool, display func(string) string) string {
	if md {
		return mdChain(via)
	}
	return chain(via, display)
}
