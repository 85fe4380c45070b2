package checks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// Limits are GitHub's limits on one check-run output. Sizes are in bytes:
// GitHub documents "characters" without saying which, and a byte budget is
// never over any of the readings.
type Limits struct {
	SummaryBytes          int // output.summary
	TextBytes             int // output.text
	AnnotationsPerRequest int // annotations per create/update request
}

// DefaultLimits returns GitHub's limits: "Only 65535 characters are
// allowed" for summary and text, and 50 annotations per request.
func DefaultLimits() Limits {
	return Limits{SummaryBytes: 65535, TextBytes: 65535, AnnotationsPerRequest: 50}
}

// Annotation limits of the Checks API.
const (
	maxAnnotationTitle   = 255       // characters
	maxAnnotationMessage = 64 * 1024 // bytes ("64 KB")
)

// Check-run conclusions rbacguard uses.
const (
	ConclusionSuccess = "success"
	ConclusionFailure = "failure"
)

// CheckRunOutput is everything a check run shows, ready to send.
type CheckRunOutput struct {
	Conclusion string
	Title      string
	Summary    string // Markdown, ≤ Limits.SummaryBytes
	Text       string // Markdown, ≤ Limits.TextBytes: how to read and fix the kinds found
	// Annotations are every finding's annotation, most severe first; nil
	// when no finding has a location. Send them with Batches: GitHub takes
	// at most Limits.AnnotationsPerRequest per request and appends those
	// of each update to the run.
	Annotations []Annotation
}

// Annotation is one check-run annotation. EndLine equals StartLine.
type Annotation struct {
	Path       string
	StartLine  int
	EndLine    int
	Level      string // failure, warning or notice
	Title      string
	Message    string
	RawDetails string
}

// Annotation levels.
const (
	LevelFailure = "failure"
	LevelWarning = "warning"
	LevelNotice  = "notice"
)

// Conclusion is failure when the gate failed and success otherwise; a run
// without a verdict is UndecidedOutput's.
func Conclusion(r *report.Report) string {
	if r != nil && r.Verdict == report.Fail {
		return ConclusionFailure
	}
	return ConclusionSuccess
}

// CheckRun builds the output of the check run called name.
func CheckRun(r *report.Report, name string, lim Limits) CheckRunOutput {
	if r == nil {
		return UndecidedOutput(name, ConclusionFailure, "could not decide", "re-run the check", fmt.Errorf("no report"))
	}
	return CheckRunOutput{
		Conclusion:  Conclusion(r),
		Title:       title(r),
		Summary:     summary(r, name, lim.SummaryBytes),
		Text:        helpText(r, lim.TextBytes),
		Annotations: annotations(r),
	}
}

// IsIncrease reports whether findings of kind k are, to a reviewer, a
// privilege increase: the title says "finding" when others block the
// merge, and the Action's increases output counts these kinds.
func IsIncrease(k report.Kind) bool {
	switch k {
	case report.RBACIncrease, report.TokenAutomount, report.TokenLegacySecret, report.TokenProjected,
		report.TokenJWTLiteral, report.AuthnAPIServerFlag, report.AuthnJWTConfig:
		return true
	}
	return false
}

// title states the verdict and the counts behind it, e.g. "2 privilege
// increases (1 critical, 1 high) — merge blocked".
func title(r *report.Report) string {
	fs := ordered(r)
	t := failOn(r)
	scan := r.Mode == "scan" || (r.Mode == "" && r.Base == "")
	block := countFindings(fs, func(f report.Finding) bool { return blocking(r, f) })
	exempted := countFindings(fs, func(f report.Finding) bool { return f.Exemption != nil && t != report.None && f.Severity.AtLeast(t) }).total()
	ex := ""
	if exempted > 0 {
		ex = fmt.Sprintf("; %d exempted", exempted)
	}
	if r.Verdict == report.Fail {
		if block.total() == 0 {
			return "Gate failed" + ex
		}
		one, many := "privilege increase", "privilege increases"
		for _, f := range fs {
			if blocking(r, f) && (scan || !IsIncrease(f.Kind)) {
				one, many = "finding", "findings"
				break
			}
		}
		end := "merge blocked"
		if scan {
			end = "gate failed"
		}
		return fmt.Sprintf("%s (%s) — %s%s", plural(block.total(), one, many), block.list(), end, ex)
	}
	below := countFindings(fs, func(f report.Finding) bool {
		return f.Exemption == nil && f.Severity.AtLeast(report.Low) && !blocking(r, f)
	})
	head := "No privilege increase"
	if scan {
		head = "No finding"
	}
	if t == report.None {
		if below.total() > 0 {
			return fmt.Sprintf("%s (%s); the gate is off", plural(below.total(), "finding", "findings"), below.list())
		}
		return head + "; the gate is off"
	}
	if below.total() == 0 {
		if exempted > 0 {
			return fmt.Sprintf("%s at or above %s%s", head, t, ex)
		}
		return head
	}
	return fmt.Sprintf("%s at or above %s (%s below the gate)%s", head, t, below.list(), ex)
}

// helpText explains each kind present in the report, for the run's text
// field (shown below the summary).
func helpText(r *report.Report, limit int) string {
	present := map[report.Kind]bool{}
	for _, f := range shown(r.Findings) {
		present[f.Kind] = true
	}
	if len(present) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## How to read and fix these findings\n")
	for _, ki := range kinds() {
		if present[ki.Kind] {
			fmt.Fprintf(&b, "\n### %s\n\n%s\n\n%s\n", code(string(ki.Kind)), ki.Full, ki.Help)
			delete(present, ki.Kind)
		}
	}
	var unknown []string
	for k := range present {
		unknown = append(unknown, string(k))
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		fmt.Fprintf(&b, "\n### %s\n\nSee each finding's message.\n", code(k))
	}
	s := b.String()
	if limit > 0 && len(s) > limit {
		s = cutBytes(s, limit)
	}
	return s
}

// annotationLevel maps a severity to the Checks API level.
func annotationLevel(f report.Finding) string {
	if f.Exemption != nil {
		return LevelNotice
	}
	switch f.Severity {
	case report.Critical, report.High:
		return LevelFailure
	case report.Medium:
		return LevelWarning
	}
	return LevelNotice
}

// annotations returns one annotation per finding that has a path, most
// severe first, then by path, line and id.
func annotations(r *report.Report) []Annotation {
	var fs []report.Finding
	for _, f := range shown(r.Findings) {
		if f.Location.Path != "" {
			fs = append(fs, f)
		}
	}
	slices.SortStableFunc(fs, func(a, b report.Finding) int {
		if c := b.Severity.Rank() - a.Severity.Rank(); c != 0 {
			return c
		}
		if c := strings.Compare(a.Location.Path, b.Location.Path); c != 0 {
			return c
		}
		if c := a.Location.Line - b.Location.Line; c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]Annotation, 0, len(fs))
	for _, f := range fs {
		line := max(f.Location.Line, 1) // the API wants a line; 0 means the whole file
		t := fmt.Sprintf("%s %s", strings.ToUpper(string(f.Severity)), f.Kind)
		if f.Subject != nil {
			t += ": " + subjectName(f.Subject)
		}
		var msg strings.Builder
		if f.Exemption != nil {
			fmt.Fprintf(&msg, "exempted: %s\n\n", exemptionString(f.Exemption))
		}
		msg.WriteString(f.Message)
		if f.Risk != "" {
			fmt.Fprintf(&msg, "\n\nRisk: %s", f.Risk)
		}
		if len(f.Via) > 0 {
			fmt.Fprintf(&msg, "\nVia: %s", chain(f.Via, nil))
		}
		if len(f.Path) > 0 {
			fmt.Fprintf(&msg, "\nPath:\n%s", strings.Join(pathStepLines(f.Path, oneLine, func(v []report.Ref) string { return chain(v, nil) }), "\n"))
		}
		if in := runsIn(f); in != "" {
			fmt.Fprintf(&msg, "\nRuns in: %s", in)
		}
		raw := fmt.Sprintf("id: %s\nkind: %s\nseverity: %s\noverlay: %s", f.ID, f.Kind, f.Severity, f.Overlay)
		if f.Scope != nil {
			raw += "\nscope: " + f.Scope.String()
		}
		if f.Permission != nil {
			raw += "\npermission: " + f.Permission.String()
		}
		out = append(out, Annotation{
			Path:       f.Location.Path,
			StartLine:  line,
			EndLine:    line,
			Level:      annotationLevel(f),
			Title:      cutRunes(t, maxAnnotationTitle),
			Message:    cutBytes(msg.String(), maxAnnotationMessage),
			RawDetails: cutBytes(raw, maxAnnotationMessage),
		})
	}
	return out
}

// Batches splits annotations into requests of at most per (GitHub's 50
// when per is not in 1..50), in order.
func Batches(as []Annotation, per int) [][]Annotation {
	n := per
	if n <= 0 || n > DefaultLimits().AnnotationsPerRequest {
		n = DefaultLimits().AnnotationsPerRequest
	}
	var out [][]Annotation
	for len(as) > 0 {
		k := min(n, len(as))
		out = append(out, as[:k:k])
		as = as[k:]
	}
	return out
}

// cutRunes keeps at most n runes, ending with "…" when it cuts.
func cutRunes(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// UndecidedOutput is the check run of a run that ended without a verdict:
// never a conclusion that passes a required check (GitHub counts neutral
// as passing). conclusion is failure, timed_out or cancelled; what says
// what happened ("could not decide", "timed out"), advice what to do. The
// error is shown fenced, with anything that looks like a credential
// redacted, and its first line titles the run.
func UndecidedOutput(name, conclusion, what, advice string, err error) CheckRunOutput {
	msg := ErrorMessage(err)
	fence := "```"
	for strings.Contains(msg, fence) {
		fence += "`"
	}
	return CheckRunOutput{
		Conclusion: conclusion,
		Title:      Title(name + " " + what + ": " + msg),
		Summary: fmt.Sprintf("**%s** %s, so this run fails the pull request until a check completes with a verdict "+
			"(a required check must never pass unchecked).\n\n**What to do:** %s\n\n%s\n%s\n%s\n",
			mdEscape(name), what, advice, fence, msg, fence),
	}
}

// Title makes s a check-run title: its first line, at most 200 runes.
func Title(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return cutRunes(s, 200)
}

// ErrorMessage is err as a check run may show it: credentials redacted,
// at most 4,000 bytes ("unknown error" for nil).
func ErrorMessage(err error) string {
	if err == nil {
		return "unknown error"
	}
	return cutBytes(redact(err.Error()), 4000)
}

// redact hides tokens that an error from an HTTP client or git might carry.
func redact(s string) string {
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]+`),
		regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`),
		regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`),
		regexp.MustCompile(`://[^/\s:@]*:[^/\s@]*@`),
	} {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			switch {
			case strings.HasPrefix(m, "://"):
				return "://[redacted]@"
			case strings.Contains(m, " "):
				return m[:strings.IndexByte(m, ' ')] + " [redacted]"
			}
			return "[redacted]"
		})
	}
	return s
}
