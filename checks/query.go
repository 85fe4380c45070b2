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

// QueryTextOptions tune the text and Markdown answers of the query
// commands.
type QueryTextOptions struct {
	TextOptions
	// ShowBuiltins lists Kubernetes' built-in subjects in every overlay
	// instead of once above them.
	ShowBuiltins bool
}

// shownOverlays is how many paths a group of overlays with the same
// answer names before "and N more".
const shownOverlays = 5

// WriteWhoCan writes who-can's answer, folded for a person: the subjects
// of Kubernetes' own bootstrap bindings once (unless ShowBuiltins), then
// each distinct answer once with the overlays that give it, each subject
// with every way it can (scope and chain) and the workloads holding its
// token. The JSON keeps every overlay whole.
func WriteWhoCan(w io.Writer, a *query.WhoCanAnswer, f QueryFormat, o QueryTextOptions) error {
	if a == nil {
		return fmt.Errorf("write who-can answer: no answer")
	}
	if f == "json" {
		return writeQueryJSON(w, a)
	}
	md := f == "markdown"
	bw := bufio.NewWriter(w)
	display := prefixPath(o.PathPrefix)
	newly := a.Base != ""
	q := "who can " + a.Request.String() + at(a.HeadName, a.Head)
	if newly {
		q = "who newly can " + a.Request.String() + ", from " + report.RevLabel(a.BaseName, a.Base) + " to " + report.RevLabel(a.HeadName, a.Head)
	}
	heading(bw, md, 2, "rbacguard "+q)
	fold := !o.ShowBuiltins && !newly
	if fold {
		writeBuiltins(bw, md, a.Overlays, display)
	}
	bodies := make([]string, len(a.Overlays))
	for i, ov := range a.Overlays {
		var b strings.Builder
		whoCanBody(&b, md, ov, fold, newly, display)
		bodies[i] = b.String()
	}
	groups := sameAnswers(bodies)
	if newly && len(groups) <= 1 && (len(groups) == 0 || bodies[groups[0][0]] == nobodyNewly(md)) {
		fmt.Fprintln(bw)
		bullet(bw, md, 0, txt(md, fmt.Sprintf("nobody newly can: %s changed, %s unchanged (not asked: nothing in them is new)",
			plural(len(a.Overlays), "overlay", "overlays"), plural(a.Unchanged, "overlay", "overlays"))))
		return bw.Flush()
	}
	for _, g := range groups {
		fmt.Fprintln(bw)
		heading(bw, md, 3, overlaysTitle(a.Overlays, g, display, func(ov query.WhoCanOverlay) string { return ov.Path }))
		bw.WriteString(bodies[g[0]])
	}
	landedNote(bw, md, a.Request.Namespace, display, a.Overlays, func(ov query.WhoCanOverlay) (string, *query.Landed) { return ov.Path, ov.NamespaceUnset })
	if newly && a.Unchanged > 0 {
		fmt.Fprintln(bw)
		bullet(bw, md, 0, txt(md, fmt.Sprintf("%s unchanged: not asked, nothing in them is new", plural(a.Unchanged, "overlay", "overlays"))))
	}
	return bw.Flush()
}

// at names the tree asked: ", at v3.1.0 (03c4ad8)"; nothing when the
// answer names none.
func at(name, rev string) string {
	if rev == "" {
		return ""
	}
	return ", at " + report.RevLabel(name, rev)
}

// writeBuiltins lists once the subjects of Kubernetes' bootstrap
// bindings that the overlays' answers hold, with how many overlays hold
// each when not all do.
func writeBuiltins(w io.Writer, md bool, ovs []query.WhoCanOverlay, display func(string) string) {
	var order []string
	seen := map[string]query.Holder{}
	count := map[string]int{}
	answered := 0
	for _, ov := range ovs {
		if ov.Error != "" {
			continue
		}
		answered++
		for _, h := range ov.Subjects {
			if !h.Builtin {
				continue
			}
			k := h.Subject.String()
			if _, ok := seen[k]; !ok {
				order = append(order, k)
				seen[k] = h
			}
			count[k]++
		}
	}
	if len(order) == 0 {
		return
	}
	fmt.Fprintln(w)
	heading(w, md, 3, "built in: Kubernetes' own bootstrap bindings, in every cluster (--show-builtins lists them per overlay)")
	for _, k := range order {
		who := k
		if count[k] != answered {
			who += fmt.Sprintf(" (in %d of %d overlays)", count[k], answered)
		}
		var ways []string
		for _, wy := range seen[k].Ways {
			ways = append(ways, txt(md, wy.Scope.String()+": ")+viaString(wy.Via, md, display))
		}
		bullet(w, md, 0, emph(md, who)+txt(md, " — ")+strings.Join(ways, "; "))
	}
}

func nobodyNewly(md bool) string {
	var b strings.Builder
	bullet(&b, md, 0, txt(md, "nobody newly can"))
	return b.String()
}

// whoCanBody writes one overlay's answer without its title, so that
// overlays answering alike can be grouped.
func whoCanBody(w io.Writer, md bool, ov query.WhoCanOverlay, fold, newly bool, display func(string) string) {
	if ov.Error != "" {
		bullet(w, md, 0, txt(md, "no answer: the overlay did not render: "+oneLine(ov.Error)))
		return
	}
	unread(w, md, ov.Unread)
	var shown []query.Holder
	folded := false
	for _, h := range ov.Subjects {
		if fold && h.Builtin {
			folded = true
			continue
		}
		shown = append(shown, h)
	}
	if len(shown) == 0 {
		who := "nobody"
		switch {
		case newly:
			who = "nobody newly can"
		case folded:
			who = "nobody but the built-ins"
		}
		if len(ov.Skipped) > 0 {
			who += " — " + notChecked(ov.Path, ov.Skipped, display)
		}
		bullet(w, md, 0, txt(md, who))
		skippedList(w, md, ov.Skipped, display)
		return
	}
	for _, h := range shown {
		who := h.Subject.String()
		if h.Subject.Kind == "ClusterRole" {
			who = "everyone bound to ClusterRole " + h.Subject.Name + " (bound outside the repository)"
		}
		if h.Builtin {
			who += " (built in)"
		}
		bullet(w, md, 0, emph(md, who))
		for _, wy := range h.Ways {
			where := wy.Scope.String() + ": "
			if h.Subject.Kind == "ClusterRole" {
				where = "wherever it is bound: " // its bindings are not in the tree
			}
			bullet(w, md, 1, txt(md, where)+viaString(wy.Via, md, display))
		}
		if len(h.Workloads) > 0 {
			bullet(w, md, 1, txt(md, "workloads holding the token: "+workloads(h.Workloads)))
		}
	}
	if len(ov.Skipped) > 0 {
		bullet(w, md, 0, txt(md, "maybe others: "+notChecked(ov.Path, ov.Skipped, display)))
		skippedList(w, md, ov.Skipped, display)
	}
}

// notChecked says that an answer could differ: "12 inputs of
// manifests/install were not checked".
func notChecked(overlay string, skipped []report.SkippedInput, display func(string) string) string {
	return fmt.Sprintf("%s of %s %s not checked", plural(len(skipped), "input", "inputs"), pathOr(overlay, display), verb(len(skipped), "was", "were"))
}

// skippedList lists the inputs an overlay was rendered without.
func skippedList(w io.Writer, md bool, skipped []report.SkippedInput, display func(string) string) {
	for _, s := range skipped {
		bullet(w, md, 1, txt(md, fmt.Sprintf("not checked: %s (%s:%d): %s", s.What, pathOr(s.Path, display), s.Line, s.Why)))
	}
}

// landedNote says, once for all overlays, which ones hold nothing in the
// namespace asked about because their objects name no namespace and
// landed in the default one: deployed with a namespace given at apply
// time, they are asked about with --default-namespace.
func landedNote[T any](w io.Writer, md bool, ns string, display func(string) string, ovs []T, of func(T) (string, *query.Landed)) {
	var paths []string
	landedIn := ""
	for _, ov := range ovs {
		if p, l := of(ov); l != nil {
			paths = append(paths, pathOr(p, display))
			landedIn = l.Namespace
		}
	}
	if len(paths) == 0 {
		return
	}
	shown := paths[:min(len(paths), shownOverlays)]
	more := ""
	if n := len(paths) - len(shown); n > 0 {
		more = fmt.Sprintf(" (and %d more)", n)
	}
	fmt.Fprintln(w)
	bullet(w, md, 0, txt(md, fmt.Sprintf("note: %s %s nothing in namespace %s: %s no namespace, so %s objects landed in %s; if %s deployed to %s, ask again with --default-namespace %s",
		plural(len(paths), "overlay", "overlays"), verb(len(paths), "holds", "hold"), ns, verb(len(paths), "it names", "they name"), verb(len(paths), "its", "their"), landedIn,
		verb(len(paths), "it is", "they are"), ns, ns)))
	bullet(w, md, 1, txt(md, strings.Join(shown, ", ")+more))
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// sameAnswers groups the indexes of bodies by identical text, in the
// order each answer first appears.
func sameAnswers(bodies []string) [][]int {
	var groups [][]int
	at := map[string]int{}
	for i, b := range bodies {
		if g, ok := at[b]; ok {
			groups[g] = append(groups[g], i)
			continue
		}
		at[b] = len(groups)
		groups = append(groups, []int{i})
	}
	return groups
}

// overlaysTitle titles a group of overlays that answer alike: "overlay
// P", or "the same in 297 overlays: a, b, … (and 292 more; -o json lists
// each)".
func overlaysTitle[T any](ovs []T, group []int, display func(string) string, pathOf func(T) string) string {
	if len(group) == 1 {
		return "overlay " + pathOr(pathOf(ovs[group[0]]), display)
	}
	var names []string
	for _, i := range group[:min(len(group), shownOverlays)] {
		names = append(names, pathOr(pathOf(ovs[i]), display))
	}
	s := fmt.Sprintf("the same in %d overlays: %s", len(group), strings.Join(names, ", "))
	if n := len(group) - len(names); n > 0 {
		s += fmt.Sprintf(" (and %d more; -o json lists each)", n)
	}
	return s
}

// WriteCanI writes can-i's answer: yes or no per overlay, and the chain
// that allows it; overlays answering alike are grouped.
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
	heading(bw, md, 2, fmt.Sprintf("rbacguard can-i: can %s (groups %s) %s%s?", a.Identity.As, strings.Join(a.Identity.Groups, ", "), a.Request, at(a.HeadName, a.Head)))
	// Each overlay's answer is its first line and the lines below it.
	answers, details := make([]string, len(a.Overlays)), make([]string, len(a.Overlays))
	for i, ov := range a.Overlays {
		var b strings.Builder
		switch {
		case ov.Error != "":
			answers[i] = "no answer: the overlay did not render: " + oneLine(ov.Error)
		case ov.Allowed:
			answers[i] = "yes"
			bullet(&b, md, 1, "via "+viaString(ov.Via, md, display))
		default:
			answers[i] = "no"
			if len(ov.Skipped) > 0 {
				answers[i] += " — " + notChecked(ov.Path, ov.Skipped, display)
			}
			skippedList(&b, md, ov.Skipped, display)
		}
		if ov.Error == "" {
			unread(&b, md, ov.Unread)
		}
		details[i] = b.String()
	}
	keys := make([]string, len(a.Overlays))
	for i := range keys {
		keys[i] = answers[i] + "\n" + details[i]
	}
	for _, g := range sameAnswers(keys) {
		where := pathOr(a.Overlays[g[0]].Path, display)
		if len(g) > 1 {
			where = strings.TrimPrefix(overlaysTitle(a.Overlays, g, display, func(ov query.CanIOverlay) string { return ov.Path }), "the same ")
		}
		bullet(bw, md, 0, txt(md, where+": "+answers[g[0]]))
		bw.WriteString(details[g[0]])
	}
	landedNote(bw, md, a.Request.Namespace, display, a.Overlays, func(ov query.CanIOverlay) (string, *query.Landed) { return ov.Path, ov.NamespaceUnset })
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
	heading(bw, md, 2, fmt.Sprintf("rbacguard can-i --list: what %s (groups %s) can do%s", a.Identity.As, strings.Join(a.Identity.Groups, ", "), at(a.HeadName, a.Head)))
	for _, ov := range a.Overlays {
		fmt.Fprintln(bw)
		heading(bw, md, 3, "overlay "+pathOr(ov.Path, display))
		if ov.Error != "" {
			bullet(bw, md, 0, txt(md, "no answer: the overlay did not render: "+oneLine(ov.Error)))
			continue
		}
		unread(bw, md, ov.Unread)
		if len(ov.Scopes) == 0 {
			nothing := "nothing"
			if len(ov.Skipped) > 0 {
				nothing += " — " + notChecked(ov.Path, ov.Skipped, display)
			}
			bullet(bw, md, 0, txt(md, nothing))
			skippedList(bw, md, ov.Skipped, display)
			continue
		}
		if len(ov.Skipped) > 0 {
			bullet(bw, md, 0, txt(md, "maybe more: "+notChecked(ov.Path, ov.Skipped, display)))
			skippedList(bw, md, ov.Skipped, display)
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
