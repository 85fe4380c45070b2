package checks

import (
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rbacguard/rbacguard/diff/report"
)

// WriteMarkdown writes the check-run summary under a heading, with no size
// limit: for files and the Actions step summary (which has its own, larger
// limit that the caller applies).
func WriteMarkdown(w io.Writer, r *report.Report) error {
	if r == nil {
		return fmt.Errorf("write markdown report: no report")
	}
	s := "## rbacguard: " + mdEscape(title(r)) + "\n\n" + summary(r, "rbacguard", 0)
	if _, err := io.WriteString(w, s); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

// summary renders the Markdown summary, at most limit bytes (0: no limit).
//
// The summary is a head (overview and failed overlays) and one block per
// (severity, overlay, subject), most severe first. When it does not fit,
// blocks are dropped from the end — the least severe subjects — and a
// notice says what is missing, counted by severity, so the reader knows the
// summary is partial and where the rest is.
func summary(r *report.Report, name string, limit int) string {
	fs := ordered(r)
	head := summaryHead(r, name, fs)
	blocks := summaryBlocks(r, fs)

	var b strings.Builder
	b.WriteString(head)
	total := len(head)
	for _, bl := range blocks {
		total += bl.size()
	}
	if limit <= 0 || total <= limit {
		for _, bl := range blocks {
			bl.writeTo(&b, len(bl.items))
		}
		return b.String()
	}

	// Reserve room for the longest notice there can be: every count in it
	// is at most the count over all findings.
	reserve := len(truncNotice(countFindings(fs, nil))) + 2
	budget := limit - reserve
	if len(head) > budget {
		// Last resort: even the overview does not fit (thousands of
		// failed overlays, say). Cut it on a rune boundary.
		s := cutBytes(head, budget) + "\n\n" + truncNotice(countFindings(fs, nil))
		return cutBytes(s, limit) // a limit smaller than the notice itself
	}
	used := len(head)
	dropped := counts{}
	stopped := false
	for _, bl := range blocks {
		if stopped {
			bl.count(dropped, 0)
			continue
		}
		if used+bl.size() <= budget {
			bl.writeTo(&b, len(bl.items))
			used += bl.size()
			continue
		}
		// Keep as many of this block's findings as fit (they are most
		// severe first) and drop every later block, so a low finding is
		// never shown while a more severe one is hidden.
		n := 0
		size := len(bl.header) + len(bl.footer)
		for n < len(bl.items) && used+size+len(bl.items[n].text) <= budget {
			size += len(bl.items[n].text)
			n++
		}
		if n > 0 {
			bl.writeTo(&b, n)
			used += size
		}
		bl.count(dropped, n)
		stopped = true
	}
	if dropped.total() > 0 {
		b.WriteString("\n" + truncNotice(dropped) + "\n")
	}
	return b.String()
}

// truncNotice says how many findings of each severity a cut summary
// leaves out and where to find them.
func truncNotice(c counts) string {
	verb := "are"
	if c.total() == 1 {
		verb = "is"
	}
	return fmt.Sprintf("_Truncated: %s (%s) %s not shown; the full report is in the JSON/SARIF artifacts._",
		plural(c.total(), "more finding", "more findings"), c.list(), verb)
}

// cutBytes returns the longest prefix of s of at most n bytes that ends on
// a rune boundary.
func cutBytes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

type mdItem struct {
	text    string
	members []report.Finding
}

// mdBlock is one subject's findings of one severity, in a <details> block.
type mdBlock struct {
	header, footer string
	items          []mdItem
}

func (bl mdBlock) size() int {
	n := len(bl.header) + len(bl.footer)
	for _, it := range bl.items {
		n += len(it.text)
	}
	return n
}

func (bl mdBlock) writeTo(b *strings.Builder, n int) {
	b.WriteString(bl.header)
	for _, it := range bl.items[:n] {
		b.WriteString(it.text)
	}
	b.WriteString(bl.footer)
}

// count adds the findings of the items from the n-th on to c.
func (bl mdBlock) count(c counts, n int) {
	for _, it := range bl.items[n:] {
		for _, f := range it.members {
			c[f.Severity]++
		}
	}
}

func summaryHead(r *report.Report, name string, fs []report.Finding) string {
	var b strings.Builder
	if r.Base != "" {
		fmt.Fprintf(&b, "**%s** compared %s → %s: ", mdEscape(name), code(report.RevLabel(r.BaseName, r.Base)), code(report.RevLabel(r.HeadName, r.Head)))
	} else {
		fmt.Fprintf(&b, "**%s** scanned %s: ", mdEscape(name), code(report.RevLabel(r.HeadName, r.Head)))
	}
	t := failOn(r)
	verdict := "**pass**"
	if r.Verdict == report.Fail {
		verdict = "**fail**"
	}
	if t == report.None {
		fmt.Fprintf(&b, "%s; the gate is off.\n\n", verdict)
	} else {
		fmt.Fprintf(&b, "%s; the gate fails on %s or above.\n\n", verdict, t)
	}

	all := countFindings(fs, nil)
	ex := countFindings(fs, func(f report.Finding) bool { return f.Exemption != nil })
	b.WriteString("| Severity | Findings | Exempted |\n|---|---:|---:|\n")
	for _, s := range report.Severities {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", s, all[s], ex[s])
	}
	fmt.Fprintf(&b, "| **total** | **%d** | **%d** |\n\n", all.total(), ex.total())

	fmt.Fprintf(&b, "Coverage: %s.\n\n", mdEscape(coverage(r)))
	if partial := partialOverlays(r); len(partial) > 0 {
		b.WriteString("<details><summary>Inputs not checked</summary>\n\n")
		for _, ov := range partial {
			for _, s := range ov.Skipped {
				fmt.Fprintf(&b, "- %s: %s at %s: %s\n", code(pathOr(ov.Path, nil)), code(s.What), code(fmt.Sprintf("%s:%d", s.Path, s.Line)), mdEscape(s.Why))
			}
		}
		b.WriteString("\n</details>\n\n")
	}
	if failed := failedOverlays(r); len(failed) > 0 {
		b.WriteString("#### Overlays that failed to render\n\n")
		for _, ov := range failed {
			fmt.Fprintf(&b, "- %s: %s\n", code(pathOr(ov.Path, nil)), mdEscape(oneLine(ov.Error)))
		}
		b.WriteString("\n")
	}
	if len(fs) == 0 {
		b.WriteString("No findings.\n")
	}
	return b.String()
}

// summaryBlocks groups merged findings by severity, then overlay and
// subject.
func summaryBlocks(r *report.Report, fs []report.Finding) []mdBlock {
	items := merge(fs)
	var blocks []mdBlock
	for _, s := range report.Severities {
		gs := groupItems(slices.DeleteFunc(slices.Clone(items), func(it item) bool { return it.Severity != s }))
		open := ""
		if blockingSeverity(r, s) {
			open = " open"
		}
		for i, g := range gs {
			var bl mdBlock
			if i == 0 {
				bl.header = fmt.Sprintf("### %s\n\n", strings.ToUpper(string(s[:1]))+string(s[1:]))
			}
			where := ""
			if g.Overlay != "" {
				where = " in <code>" + html.EscapeString(g.Overlay) + "</code>"
			}
			bl.header += fmt.Sprintf("<details%s>\n<summary><b>%s</b>%s — %s</summary>\n\n",
				open, html.EscapeString(subjectName(g.Subject)), where, plural(g.count(), "finding", "findings"))
			for _, it := range g.Items {
				bl.items = append(bl.items, mdItem{text: mdFinding(it, true), members: it.Members})
			}
			bl.footer = "\n</details>\n\n"
			blocks = append(blocks, bl)
		}
	}
	return blocks
}

func blockingSeverity(r *report.Report, s report.Severity) bool {
	t := failOn(r)
	return t != report.None && s.AtLeast(t)
}

// mdFinding is one list entry: the finding, then its risk, chain,
// workloads and exemption as sub-items.
func mdFinding(it item, short bool) string {
	f := it.Rep
	msg := it.Message()
	if short {
		msg = it.ShortMessage()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "- **%s** %s · %s", strings.ToUpper(string(it.Severity)), mdEscape(msg), code(string(f.Kind)))
	if f.Location.Path != "" {
		fmt.Fprintf(&b, " · %s", code(f.Location.String()))
	}
	b.WriteString("\n")
	if f.Risk != "" {
		fmt.Fprintf(&b, "  - Risk: %s\n", mdEscape(f.Risk))
	}
	if len(f.Via) > 0 {
		fmt.Fprintf(&b, "  - Via: %s\n", mdChain(f.Via))
	}
	if in := runsIn(f); in != "" {
		fmt.Fprintf(&b, "  - Runs in: %s\n", mdEscape(in))
	}
	if f.Exemption != nil {
		fmt.Fprintf(&b, "  - Exempted: %s\n", mdEscape(exemptionString(f.Exemption)))
	}
	if len(f.AlsoIn) > 0 {
		fmt.Fprintf(&b, "  - Also in %s\n", mdEscape(overlayList(f.AlsoIn)))
	}
	if len(f.Path) > 0 {
		b.WriteString("\n" + mdPath(f.Path, "  ") + "\n")
	}
	return b.String()
}

// mdChain is the via chain with locations as code spans.
func mdChain(via []report.Ref) string {
	parts := make([]string, len(via))
	for i, r := range via {
		s := mdEscape(r.Object())
		if r.Path != "" {
			s += " (" + code(locString(report.Location{Path: r.Path, Line: r.Line}, nil)) + ")"
		}
		parts[i] = s
	}
	return strings.Join(parts, " → ")
}

// mdEscape makes text safe in Markdown and inline HTML: Markdown syntax
// characters are backslash-escaped, HTML is entity-escaped and newlines
// are folded so a message cannot break the list it is in.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '~', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// code is an inline code span that survives backticks in its content.
func code(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return "`` " + s + " ``"
}
