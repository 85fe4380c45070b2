package checks

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rbacguard/rbacguard/diff/report"
)

func TestMerge(t *testing.T) {
	base := report.Finding{
		Kind: report.RBACIncrease, Overlay: "o", Subject: sa("ns", "a"), Scope: nsScope("ns"),
		Location: report.Location{Path: "r.yaml", Line: 4},
		Via:      []report.Ref{{Kind: "RoleBinding", Namespace: "ns", Name: "b"}},
	}
	mk := func(verb string, sev report.Severity, edit func(*report.Finding)) report.Finding {
		f := base
		f.Severity = sev
		f.Permission = perm(verb, "", "secrets")
		f.Message = "ServiceAccount ns/a can now " + verb + " secrets in namespace ns"
		if edit != nil {
			edit(&f)
		}
		return withID(f)
	}
	for _, tc := range []struct {
		name string
		fs   []report.Finding
		want []string // "SEVERITY message"
	}{
		{"verbs merge, highest severity", []report.Finding{
			mk("watch", report.Low, nil), mk("delete", report.Medium, nil), mk("get", report.High, nil),
		}, []string{"high ServiceAccount ns/a can now get,watch,delete secrets in namespace ns"}},
		{"other scope stays apart", []report.Finding{
			mk("get", report.High, nil), mk("list", report.High, func(f *report.Finding) { f.Scope = clusterScope }),
		}, []string{"high ServiceAccount ns/a can now get secrets in namespace ns", "high ServiceAccount ns/a can now list secrets in namespace ns"}},
		{"other resource stays apart", []report.Finding{
			mk("get", report.High, nil), mk("get", report.Medium, func(f *report.Finding) { f.Permission.Resources = []string{"pods"} }),
		}, []string{"high ServiceAccount ns/a can now get secrets in namespace ns", "medium ServiceAccount ns/a can now get secrets in namespace ns"}},
		{"other chain stays apart", []report.Finding{
			mk("get", report.High, nil), mk("list", report.High, func(f *report.Finding) { f.Via = nil }),
		}, []string{"high ServiceAccount ns/a can now get secrets in namespace ns", "high ServiceAccount ns/a can now list secrets in namespace ns"}},
		{"exempted stays apart", []report.Finding{
			mk("get", report.High, nil), mk("list", report.High, func(f *report.Finding) { f.Exemption = &report.Exemption{Reason: "r"} }),
		}, []string{"high ServiceAccount ns/a can now get secrets in namespace ns", "high ServiceAccount ns/a can now list secrets in namespace ns"}},
		{"message without the permission text", []report.Finding{
			mk("get", report.High, func(f *report.Finding) { f.Message = "reads secrets" }), mk("list", report.High, func(f *report.Finding) { f.Message = "reads secrets" }),
		}, []string{"high reads secrets (verbs: get, list)"}},
		{"no permission never merges", []report.Finding{
			mk("get", report.High, func(f *report.Finding) { f.Permission = nil }), mk("get", report.High, func(f *report.Finding) { f.Permission = nil }),
		}, []string{"high ServiceAccount ns/a can now get secrets in namespace ns", "high ServiceAccount ns/a can now get secrets in namespace ns"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, it := range merge(tc.fs) {
				got = append(got, string(it.Severity)+" "+it.Message())
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestWriteText_Verdict(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *report.Report
		want string
	}{
		{"fail", fullReport(), "FAIL: 13 findings at or above high (2 findings exempted)"},
		{"pass", emptyReport(), "PASS: no findings at or above high"},
		{"scan", scanReport(), "PASS: no findings at or above critical"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, tc.r, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if got := lines[len(lines)-1]; got != tc.want {
				t.Errorf("last line %q, want %q", got, tc.want)
			}
			if strings.Contains(b.String(), "\x1b[") {
				t.Error("colour without TextOptions.Color")
			}
		})
	}
	var b bytes.Buffer
	r := emptyReport()
	r.FailOn = report.None
	if err := WriteText(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "PASS: the gate is off (fail-on none)\n") {
		t.Errorf("gate off: %q", b.String())
	}
}

func TestWriteJSON_RoundTrip(t *testing.T) {
	r := fullReport()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "}\n") || !strings.Contains(b.String(), "\n  \"version\": 1,") {
		t.Errorf("not 2-space indented with a trailing newline:\n%.200s", b.String())
	}
	var back report.Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, &back, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	// Lists are [] rather than null, as the contract shows.
	b.Reset()
	if err := WriteJSON(&b, &report.Report{Version: 1, Head: "h", Findings: []report.Finding{{ID: "x", Permission: &report.Permission{Verbs: []string{"get"}}}}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "null") {
		t.Errorf("null in JSON:\n%s", b.String())
	}
	if err := WriteJSON(&b, nil); err == nil {
		t.Error("nil report: no error")
	}
}

func TestWriters_NilReport(t *testing.T) {
	var b bytes.Buffer
	for name, err := range map[string]error{
		"text":     WriteText(&b, nil, TextOptions{}),
		"markdown": WriteMarkdown(&b, nil),
		"sarif":    WriteSARIF(&b, nil, SARIFOptions{}),
	} {
		if err == nil {
			t.Errorf("%s: no error for a nil report", name)
		}
	}
	if inline, rest := ReviewComments(nil, Diff{}); inline != nil || rest != nil {
		t.Error("comments for a nil report")
	}
}
