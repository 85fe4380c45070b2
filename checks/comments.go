package checks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// Comment is one inline review comment on the new (RIGHT) side of a file.
type Comment struct {
	Path string
	Line int
	Body string
	// FindingIDs are the findings the comment speaks for, as in its marker.
	FindingIDs []string
}

// maxCommentBody keeps a body under GitHub's 65,536 characters ("Body is
// too long"), counted in bytes to be safe whatever GitHub counts.
const maxCommentBody = 65000

// Markers hidden at the end of every comment body. The id marker makes a
// comment ours and names its findings; the resolved marker says it has
// been struck through already.
const (
	markerPrefix   = "<!-- rbacguard:"
	markerSuffix   = " -->"
	resolvedMarker = "<!-- rbacguard-resolved -->"
)

// ReviewComments places findings on the lines of the diff. Each finding
// that is not exempted, is at least low, and whose location is a
// commentable line gets into a comment; findings on the same line share
// one comment, most severe first. Eligible findings whose line is not in
// the diff are returned in rest, in report order, for the review body or
// the annotations. Exempted and info findings are neither: the summary
// and the annotations show them.
func ReviewComments(r *report.Report, d Diff) (inline []Comment, rest []report.Finding) {
	if r == nil {
		return nil, nil
	}
	type spot struct {
		path string
		line int
	}
	byLine := map[spot][]report.Finding{}
	var spots []spot
	for _, f := range ordered(r) {
		if f.Exemption != nil || !f.Severity.AtLeast(report.Low) {
			continue
		}
		s := spot{f.Location.Path, f.Location.Line}
		if s.path == "" || s.line < 1 || !d.Commentable(s.path, s.line) {
			rest = append(rest, f)
			continue
		}
		if _, ok := byLine[s]; !ok {
			spots = append(spots, s)
		}
		byLine[s] = append(byLine[s], f)
	}
	slices.SortFunc(spots, func(a, b spot) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return a.line - b.line
	})
	for _, s := range spots {
		text, _ := d.text(s.path, s.line)
		inline = append(inline, lineComments(s.path, s.line, text, merge(byLine[s]))...)
	}
	return inline, rest
}

// lineComments writes the comments of one line: usually one, more only
// when the findings would not fit in one body.
func lineComments(path string, line int, text string, items []item) []Comment {
	fix := fixFor(text, items)
	var out []Comment
	var parts []string
	var ids []string
	size := 0
	flush := func() {
		body := strings.Join(parts, "\n\n---\n\n")
		if fix != "" {
			body += "\n\n" + fix
		}
		body += "\n\n" + Marker(ids) + "\n"
		out = append(out, Comment{Path: path, Line: line, Body: body, FindingIDs: ids})
		parts, ids, size = nil, nil, 0
	}
	for _, it := range items {
		part := commentItem(it)
		itemIDs := it.IDs()
		cost := len(part) + 7 + len(strings.Join(itemIDs, ",")) + 1
		if len(parts) > 0 && size+cost+len(fix)+64 > maxCommentBody {
			flush()
		}
		parts = append(parts, cutBytes(part, maxCommentBody/2))
		ids = append(ids, itemIDs...)
		size += cost
	}
	if len(parts) > 0 {
		flush()
	}
	return out
}

// commentItem is one finding in a comment: bold severity and message,
// then its risk, chain, workloads and where it comes from.
func commentItem(it item) string {
	f := it.Rep
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** %s", strings.ToUpper(string(it.Severity)), mdEscape(it.Message()))
	if f.Risk != "" {
		fmt.Fprintf(&b, "\n\nRisk: %s", mdEscape(f.Risk))
	}
	var lines []string
	if len(f.Via) > 0 {
		lines = append(lines, "Via: "+mdChain(f.Via))
	}
	if in := runsIn(f); in != "" {
		lines = append(lines, "Runs in: "+mdEscape(in))
	}
	meta := code(string(f.Kind))
	if f.Overlay != "" {
		meta += " in overlay " + code(f.Overlay)
	}
	lines = append(lines, meta)
	// Two trailing spaces: a Markdown line break, so the lines stay apart
	// without becoming a list.
	b.WriteString("\n\n" + strings.Join(lines, "  \n"))
	if len(f.Path) > 0 {
		b.WriteString("\n\n" + mdPath(f.Path, ""))
	}
	return b.String()
}

// fixFor returns the fix section for a line when the fix is mechanical.
// Only two are: a token automount switched off, which is a suggestion the
// author can apply, and advice to replace a wildcard verb, which cannot be
// a suggestion because only the author knows the verbs the workload needs.
func fixFor(text string, items []item) string {
	has := func(kinds ...report.Kind) bool {
		for _, it := range items {
			if slices.Contains(kinds, it.Rep.Kind) {
				return true
			}
		}
		return false
	}
	automount := regexp.MustCompile(`^(\s*(?:-\s+)?automountServiceAccountToken:\s*)(?:true|"true"|'true'|True|TRUE)(\s*(?:#.*)?)$`)
	if has(report.TokenAutomount) {
		if m := automount.FindStringSubmatch(text); m != nil {
			fixed := m[1] + "false" + m[2]
			return "Suggested fix — do not mount the token unless the workload calls the Kubernetes API:\n\n```suggestion\n" + fixed + "\n```"
		}
	}
	if has(report.RBACIncrease, report.RBACGrant) && wildcardVerbs(text) {
		return "Suggested fix: this rule grants every verb (`*`), including `escalate`, `bind`, `impersonate` and `deletecollection` where they apply. " +
			"List only the verbs the workload needs, for example `verbs: [\"get\", \"list\", \"watch\"]` for read-only access."
	}
	return ""
}

// wildcardVerbs reports whether a YAML line is a flow-style verbs list
// holding "*", such as `verbs: ["*"]` or `- verbs: [get, '*']`.
func wildcardVerbs(line string) bool {
	rest, ok := strings.CutPrefix(strings.TrimLeft(strings.TrimSpace(line), "- "), "verbs:")
	if !ok {
		return false
	}
	rest = strings.TrimSpace(rest)
	if i := strings.Index(rest, "#"); i >= 0 && !strings.Contains(rest[:i], "]") {
		return false // a comment before the list closes: not a flow list we read
	}
	list, ok := strings.CutPrefix(rest, "[")
	if !ok {
		return false
	}
	end := strings.Index(list, "]")
	if end < 0 {
		return false
	}
	for _, v := range strings.Split(list[:end], ",") {
		if strings.Trim(strings.TrimSpace(v), `"'`) == "*" {
			return true
		}
	}
	return false
}

// Marker is the hidden line that ends every comment body and names its
// findings.
func Marker(ids []string) string {
	return markerPrefix + strings.Join(ids, ",") + markerSuffix
}

// ParseMarker returns the finding ids of a comment written by rbacguard.
// The marker must stand on a line of its own, so a reply quoting one of
// our comments ("> <!-- rbacguard:… -->") is not taken for ours.
func ParseMarker(body string) (ids []string, ok bool) {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		inner, found := strings.CutPrefix(l, markerPrefix)
		if !found {
			continue
		}
		inner, found = strings.CutSuffix(inner, markerSuffix)
		if !found {
			continue
		}
		ids = strings.Split(inner, ",")
		for _, id := range ids {
			if !validID(id) {
				return nil, false
			}
		}
		return ids, true
	}
	return nil, false
}

func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
