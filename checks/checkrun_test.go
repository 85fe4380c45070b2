package checks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/report"
)

// bigReport has n findings over n/5 subjects, every severity, and
// multi-byte text so that cuts can land inside a rune.
func bigReport(n int) *report.Report {
	sevs := report.Severities
	fs := make([]report.Finding, n)
	for i := range fs {
		subj := sa("ns-ü", fmt.Sprintf("account-%04d", i/5))
		res := fmt.Sprintf("widgets-%d", i)
		fs[i] = withID(report.Finding{
			Kind: report.RBACIncrease, Severity: sevs[i%len(sevs)], Overlay: "overlays/prod",
			Subject: subj, Scope: nsScope("ns-ü"), Permission: perm("get", "example.com", res),
			Via: []report.Ref{
				{Kind: "RoleBinding", Namespace: "ns-ü", Name: "b", Path: "base/rbac.yaml", Line: i + 1},
				{Kind: "Role", Namespace: "ns-ü", Name: "r", Path: "base/rbac.yaml", Line: i + 2, Field: "rules[0]"},
			},
			Location: report.Location{Path: "overlays/prod/rbac.yaml", Line: i + 1},
			Message:  subj.String() + " can now get example.com/" + res + " in namespace ns-ü → überall",
			Risk:     "reads widgets — « every » one",
		})
	}
	r := &report.Report{Mode: "diff", Base: baseSHA, Head: headSHA, Findings: fs,
		Overlays: []report.Overlay{{Path: "overlays/prod", Status: report.OverlayRendered}}}
	r.Finish(report.High)
	return r
}

var noticeRE = regexp.MustCompile(`_Truncated: (\d+) more findings? \(([^)]*)\) (?:is|are) not shown; the full report is in the JSON/SARIF artifacts\._`)

// shownBySeverity counts the finding lines of a summary per severity.
func shownBySeverity(summary string) counts {
	c := counts{}
	for _, s := range report.Severities {
		c[s] = strings.Count(summary, "\n- **"+strings.ToUpper(string(s))+"** ")
	}
	return c
}

func TestCheckRun_SummaryTruncation(t *testing.T) {
	r := bigReport(5000)
	total := countFindings(r.Findings, nil)
	for _, limit := range []int{65535, 20000, 3001} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			out := CheckRun(r, "rbacguard", Limits{SummaryBytes: limit, TextBytes: limit, AnnotationsPerRequest: 50})
			s := out.Summary
			if len(s) > limit {
				t.Fatalf("summary is %d bytes, limit %d", len(s), limit)
			}
			if len(out.Text) > limit {
				t.Errorf("text is %d bytes, limit %d", len(out.Text), limit)
			}
			if !utf8.ValidString(s) {
				t.Fatal("summary is not valid UTF-8")
			}
			m := noticeRE.FindStringSubmatch(s)
			if m == nil {
				t.Fatalf("no truncation notice at the end of the summary:\n…%s", s[max(0, len(s)-300):])
			}
			if !strings.HasSuffix(strings.TrimSpace(s), m[0]) {
				t.Errorf("the notice is not the last line")
			}
			shown := shownBySeverity(s)
			want := counts{}
			for _, sev := range report.Severities {
				if d := total[sev] - shown[sev]; d > 0 {
					want[sev] = d
				}
			}
			if got, _ := strconv.Atoi(m[1]); got != want.total() {
				t.Errorf("notice says %d more findings, want %d", got, want.total())
			}
			if m[2] != want.list() {
				t.Errorf("notice counts %q, want %q", m[2], want.list())
			}
			// Drop from the lowest severity up: once a severity is
			// missing findings, no less severe finding may be shown.
			missing := false
			for _, sev := range report.Severities {
				if missing && shown[sev] > 0 {
					t.Errorf("%d %s findings shown while more severe ones were dropped (shown %v)", shown[sev], sev, shown)
				}
				if shown[sev] < total[sev] {
					missing = true
				}
			}
			if shown.total() == 0 {
				t.Error("no finding shown at all")
			}
			// Every <details> that is opened is closed.
			if o, c := strings.Count(s, "<details"), strings.Count(s, "</details>"); o != c {
				t.Errorf("%d <details> opened, %d closed", o, c)
			}
		})
	}
}

func TestSummary_LastResortCut(t *testing.T) {
	r := emptyReport()
	for i := range 500 {
		r.Overlays = append(r.Overlays, report.Overlay{Path: fmt.Sprintf("overlays/ü-%03d", i), Status: report.OverlayFailed, Error: strings.Repeat("kaputt → ", 20)})
	}
	r.Findings = bigReport(10).Findings
	for _, limit := range []int{1000, 257, 10} {
		s := summary(r, "rbacguard", limit)
		if len(s) > limit {
			t.Errorf("limit %d: summary is %d bytes", limit, len(s))
		}
		if !utf8.ValidString(s) {
			t.Errorf("limit %d: summary is not valid UTF-8", limit)
		}
		if limit >= 257 && !noticeRE.MatchString(s) {
			t.Errorf("limit %d: no notice in %q", limit, s)
		}
	}
}

func TestSummary_FitsUntruncated(t *testing.T) {
	r := fullReport()
	unbounded := summary(r, "rbacguard", 0)
	if got := summary(r, "rbacguard", len(unbounded)); got != unbounded {
		t.Errorf("a summary that fits exactly was changed")
	}
	if strings.Contains(unbounded, "_Truncated") {
		t.Errorf("untruncated summary has a notice")
	}
}

func TestCheckRun_AnnotationBatching(t *testing.T) {
	for _, tc := range []struct {
		n    int
		per  int
		want []int
	}{
		{0, 50, nil},
		{1, 50, []int{1}},
		{50, 50, []int{50}},
		{51, 50, []int{50, 1}},
		{120, 50, []int{50, 50, 20}},
		{120, 0, []int{50, 50, 20}}, // zero means GitHub's default
		{7, 3, []int{3, 3, 1}},
	} {
		t.Run(fmt.Sprintf("%d per %d", tc.n, tc.per), func(t *testing.T) {
			r := bigReport(tc.n)
			out := CheckRun(r, "rbacguard", Limits{SummaryBytes: 65535, TextBytes: 65535, AnnotationsPerRequest: tc.per})
			var got []int
			for _, b := range Batches(out.Annotations, tc.per) {
				got = append(got, len(b))
			}
			flat := out.Annotations
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("batch sizes (-want +got):\n%s", d)
			}
			again := CheckRun(r, "rbacguard", Limits{SummaryBytes: 65535, TextBytes: 65535, AnnotationsPerRequest: tc.per})
			if d := cmp.Diff(out, again); d != "" {
				t.Errorf("output is not deterministic:\n%s", d)
			}
			seen := map[string]bool{}
			for i, a := range flat {
				if a.StartLine < 1 || a.EndLine != a.StartLine {
					t.Errorf("annotation %d: lines %d-%d", i, a.StartLine, a.EndLine)
				}
				if i > 0 && report.Severity(strings.ToLower(strings.Fields(a.Title)[0])).Rank() > report.Severity(strings.ToLower(strings.Fields(flat[i-1].Title)[0])).Rank() {
					t.Errorf("annotation %d is more severe than the one before", i)
				}
				seen[a.RawDetails] = true
			}
			if len(seen) != tc.n {
				t.Errorf("%d distinct annotations, want %d", len(seen), tc.n)
			}
		})
	}
}

func TestAnnotations_Fields(t *testing.T) {
	long := strings.Repeat("ü", 300)
	for _, tc := range []struct {
		name string
		f    report.Finding
		want Annotation // Message and RawDetails are not compared
		none bool
	}{
		{"critical", report.Finding{Kind: report.RBACIncrease, Severity: report.Critical, Location: report.Location{Path: "a.yaml", Line: 3}},
			Annotation{Path: "a.yaml", StartLine: 3, EndLine: 3, Level: LevelFailure, Title: "CRITICAL rbac.increase"}, false},
		{"high", report.Finding{Kind: report.TokenAutomount, Severity: report.High, Location: report.Location{Path: "a.yaml", Line: 3}},
			Annotation{Path: "a.yaml", StartLine: 3, EndLine: 3, Level: LevelFailure, Title: "HIGH token.automount"}, false},
		{"medium", report.Finding{Kind: report.TokenProjected, Severity: report.Medium, Location: report.Location{Path: "a.yaml", Line: 3}},
			Annotation{Path: "a.yaml", StartLine: 3, EndLine: 3, Level: LevelWarning, Title: "MEDIUM token.projected"}, false},
		{"low", report.Finding{Kind: report.RBACIncrease, Severity: report.Low, Location: report.Location{Path: "a.yaml", Line: 3}},
			Annotation{Path: "a.yaml", StartLine: 3, EndLine: 3, Level: LevelNotice, Title: "LOW rbac.increase"}, false},
		{"info", report.Finding{Kind: report.RBACDecrease, Severity: report.Info, Location: report.Location{Path: "a.yaml", Line: 3}},
			Annotation{Path: "a.yaml", StartLine: 3, EndLine: 3, Level: LevelNotice, Title: "INFO rbac.decrease"}, false},
		{"line 0 becomes 1", report.Finding{Kind: report.RenderError, Severity: report.High, Location: report.Location{Path: "k/kustomization.yaml"}},
			Annotation{Path: "k/kustomization.yaml", StartLine: 1, EndLine: 1, Level: LevelFailure, Title: "HIGH render.error"}, false},
		{"exempted is a notice", report.Finding{Kind: report.RBACIncrease, Severity: report.Critical, Location: report.Location{Path: "a.yaml", Line: 1}, Exemption: &report.Exemption{Reason: "ok"}},
			Annotation{Path: "a.yaml", StartLine: 1, EndLine: 1, Level: LevelNotice, Title: "CRITICAL rbac.increase"}, false},
		{"long title", report.Finding{Kind: report.RBACIncrease, Severity: report.Low, Subject: sa("n", long), Location: report.Location{Path: "a.yaml", Line: 1}},
			Annotation{Path: "a.yaml", StartLine: 1, EndLine: 1, Level: LevelNotice, Title: string([]rune("LOW rbac.increase: ServiceAccount n/" + long)[:254]) + "…"}, false},
		{"no path", report.Finding{Kind: report.RBACIncrease, Severity: report.High}, Annotation{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Findings: []report.Finding{tc.f}}
			as := annotations(r)
			if tc.none {
				if len(as) != 0 {
					t.Fatalf("got %d annotations, want none", len(as))
				}
				return
			}
			if len(as) != 1 {
				t.Fatalf("got %d annotations, want 1", len(as))
			}
			got := as[0]
			if utf8.RuneCountInString(got.Title) > 255 {
				t.Errorf("title has %d runes", utf8.RuneCountInString(got.Title))
			}
			if tc.f.Exemption != nil && !strings.HasPrefix(got.Message, "exempted: "+tc.f.Exemption.Reason) {
				t.Errorf("message %q does not start with the exemption", got.Message)
			}
			got.Message, got.RawDetails = "", ""
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestTitle(t *testing.T) {
	f := func(kind report.Kind, sev report.Severity, ex bool) report.Finding {
		x := report.Finding{Kind: kind, Severity: sev, Message: string(kind) + string(sev)}
		if ex {
			x.Exemption = &report.Exemption{Reason: "r"}
		}
		return withID(x)
	}
	for _, tc := range []struct {
		name   string
		mode   string
		failOn report.Severity
		fs     []report.Finding
		want   string
	}{
		{"empty", "diff", report.High, nil, "No privilege increase"},
		{"two increases", "diff", report.High, []report.Finding{f(report.RBACIncrease, report.Critical, false), f(report.RBACIncrease, report.High, false)},
			"2 privilege increases (1 critical, 1 high) — merge blocked"},
		{"one token finding", "diff", report.High, []report.Finding{f(report.TokenAutomount, report.High, false)},
			"1 privilege increase (1 high) — merge blocked"},
		{"render error is not an increase", "diff", report.High, []report.Finding{f(report.RenderError, report.High, false), f(report.RBACIncrease, report.High, false)},
			"2 findings (2 high) — merge blocked"},
		{"below the gate", "diff", report.High, []report.Finding{f(report.RBACIncrease, report.Medium, false), f(report.RBACIncrease, report.Low, false), f(report.RBACDecrease, report.Info, false)},
			"No privilege increase at or above high (1 medium, 1 low below the gate)"},
		{"only info", "diff", report.High, []report.Finding{f(report.RBACDecrease, report.Info, false)}, "No privilege increase"},
		{"exempted", "diff", report.High, []report.Finding{f(report.RBACIncrease, report.Critical, true)}, "No privilege increase at or above high; 1 exempted"},
		{"fail with exempted", "diff", report.High, []report.Finding{f(report.RBACIncrease, report.Critical, true), f(report.RBACIncrease, report.High, false)},
			"1 privilege increase (1 high) — merge blocked; 1 exempted"},
		{"gate off", "diff", report.None, []report.Finding{f(report.RBACIncrease, report.Critical, false)}, "1 finding (1 critical); the gate is off"},
		{"scan fails", "scan", report.High, []report.Finding{f(report.RBACGrant, report.Critical, false)}, "1 finding (1 critical) — gate failed"},
		{"scan passes", "scan", report.High, nil, "No finding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report.Report{Mode: tc.mode, Base: "b", Head: "h", Findings: tc.fs}
			r.Finish(tc.failOn)
			if got := title(r); got != tc.want {
				t.Errorf("title = %q, want %q", got, tc.want)
			}
			wantConclusion := ConclusionSuccess
			if r.Verdict == report.Fail {
				wantConclusion = ConclusionFailure
			}
			if got := CheckRun(r, "rbacguard", DefaultLimits()).Conclusion; got != wantConclusion {
				t.Errorf("conclusion = %q, want %q", got, wantConclusion)
			}
		})
	}
}

func TestUndecidedOutput_Redacts(t *testing.T) {
	secrets := []string{"ghs_abcdefghijklmnop1234", "ghp_0123456789abcdefghij", "github_pat_11ABCDEF_xyz",
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl", "s3cr3tpassw0rd", "dGhpc2lzYXNlY3JldA=="}
	err := fmt.Errorf("clone https://user:s3cr3tpassw0rd@example.com/x: %s %s %s %s; Authorization: Basic dGhpc2lzYXNlY3JldA==",
		secrets[0], secrets[1], secrets[2], secrets[3])
	out := UndecidedOutput("rbacguard", ConclusionFailure, "could not decide", "re-run", err)
	if out.Conclusion != ConclusionFailure {
		t.Errorf("conclusion = %q, want failure", out.Conclusion)
	}
	if len(out.Annotations) != 0 {
		t.Errorf("error output has annotations")
	}
	for _, s := range secrets {
		if strings.Contains(out.Summary, s) || strings.Contains(out.Title, s) {
			t.Errorf("summary leaks %q:\n%s", s, out.Summary)
		}
	}
	if !strings.Contains(out.Summary, "clone https://[redacted]@example.com/x") {
		t.Errorf("summary lost the error's shape:\n%s", out.Summary)
	}
	if got := UndecidedOutput("x", ConclusionFailure, "could not decide", "re-run", nil); got.Conclusion != ConclusionFailure || !strings.Contains(got.Title, "unknown error") {
		t.Errorf("nil error: %q %q", got.Conclusion, got.Title)
	}
	if got := CheckRun(nil, "x", DefaultLimits()).Conclusion; got != ConclusionFailure {
		t.Errorf("nil report: conclusion %q, want failure (a run without a report has no verdict)", got)
	}
}
