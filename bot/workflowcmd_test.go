package bot

import (
	"bufio"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/checks"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"HIGH rbac.increase: ServiceAccount a/b, c", "HIGH rbac.increase: ServiceAccount a/b, c", "HIGH rbac.increase%3A ServiceAccount a/b%2C c"},
		{"%0A literal", "%250A literal", "%250A literal"},
		{"::error::injected", "::error::injected", "%3A%3Aerror%3A%3Ainjected"},
	} {
		if got := EscapeData(tc.in); got != tc.data {
			t.Errorf("EscapeData(%q) = %q, want %q", tc.in, got, tc.data)
		}
		if got := EscapeProperty(tc.in); got != tc.prop {
			t.Errorf("EscapeProperty(%q) = %q, want %q", tc.in, got, tc.prop)
		}
	}
}

func TestWriteWorkflowCommands(t *testing.T) {
	var anns []checks.Annotation
	for i := range 13 {
		anns = append(anns, checks.Annotation{Path: "rbac/a,b.yaml", StartLine: i + 1, EndLine: i + 1, Level: checks.LevelFailure, Title: "HIGH: x", Message: "line one\nline two"})
	}
	anns = append(anns,
		checks.Annotation{Path: "w.yaml", StartLine: 3, EndLine: 3, Level: checks.LevelWarning, Title: "MEDIUM", Message: "m"},
		checks.Annotation{Path: "n.yaml", StartLine: 1, EndLine: 4, Level: checks.LevelNotice, Message: "n"},
	)
	var b strings.Builder
	left, err := WriteWorkflowCommands(&b, anns, 0)
	if err != nil {
		t.Fatal(err)
	}
	if left != 3 {
		t.Errorf("left out %d, want 3", left)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 13 {
		t.Fatalf("got %d lines, want 10 errors, 1 warning, 1 notice and a count:\n%s", len(lines), b.String())
	}
	want := []string{
		"::error file=rbac/a%2Cb.yaml,line=1,title=HIGH%3A x::line one%0Aline two",
		"::warning file=w.yaml,line=3,title=MEDIUM::m",
		"::notice file=n.yaml,line=1,endLine=4::n",
		"rbacguard: 3 more findings not shown as annotations (GitHub shows at most 10 per level and step); the job summary lists every finding.",
	}
	got := []string{lines[0], lines[10], lines[11], lines[12]}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("commands (-want +got):\n%s", d)
	}
}

// parseOutputs reads a GITHUB_OUTPUT file the way the runner does.
func parseOutputs(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		name, delim, ok := strings.Cut(line, "<<")
		if !ok {
			t.Fatalf("line %q is not name<<DELIM", line)
		}
		var val []string
		for {
			if !sc.Scan() {
				t.Fatalf("output %s: delimiter %s not found", name, delim)
			}
			if sc.Text() == delim {
				break
			}
			val = append(val, sc.Text())
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func TestWriteOutputs(t *testing.T) {
	outs := []Output{
		{"verdict", "fail"},
		{"increases", "3"},
		{"report", "/tmp/r/report.json"},
		{"tricky", "a\nb=c\nghadelimiter_\nEOF"},
		{"empty", ""},
	}
	var b strings.Builder
	if err := WriteOutputs(&b, outs); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, o := range outs {
		want[o.Name] = o.Value
	}
	if d := cmp.Diff(want, parseOutputs(t, b.String())); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
	for _, bad := range []string{"", "a\nb", "a=b"} {
		if err := WriteOutputs(&b, []Output{{bad, "v"}}); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

func TestCapSummary(t *testing.T) {
	short := "# ok\n"
	if got := CapSummary(short, 100); got != short {
		t.Errorf("short summary changed: %q", got)
	}
	long := strings.Repeat("line é ü\n", 50)
	for _, limit := range []int{200, 201, 202, 203, 250} {
		got := CapSummary(long, limit)
		if len(got) > limit {
			t.Errorf("limit %d: %d bytes", limit, len(got))
		}
		if !strings.Contains(got, "Summary truncated") {
			t.Errorf("limit %d: no truncation notice", limit)
		}
		if !strings.HasPrefix(got, "line é ü\n") || strings.Contains(got, "\uFFFD") {
			t.Errorf("limit %d: bad cut %q", limit, got)
		}
	}
	if got := CapSummary(strings.Repeat("x", MaxStepSummaryBytes+10), 0); len(got) > MaxStepSummaryBytes {
		t.Errorf("default limit: %d bytes", len(got))
	}
}
