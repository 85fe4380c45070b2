package policy_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/rbacguard/rbacguard/diff/glob"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/report"
)

var update = flag.Bool("update", false, "rewrite the want and error sections of testdata/cases")

// defaultNow is the clock of every case without a "now" section.
var defaultNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// TestCases runs testdata/cases/*.txtar. A case holds either
//
//	policy.yaml   loaded with Load from the case's files (other files are
//	              the repository: role dumps for externalRoles.paths)
//	report.json   optional findings to Apply the policy to
//	now           optional RFC 3339 time (default 2026-06-15T12:00:00Z)
//	probe         optional lines "overlay PATH" or "remote URL"
//
// or base.yaml and/or head.yaml (a missing one is a missing file) for
// Changed. It expects "want" (one line per finding, then the verdict, the
// external roles and the probes) or "error" (the full error text).
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string][]byte{}
			fsys := fstest.MapFS{}
			for _, f := range ar.Files {
				sec[f.Name] = f.Data
				fsys[f.Name] = &fstest.MapFile{Data: f.Data}
			}
			var got, kind string
			if _, ok := sec["policy.yaml"]; ok {
				got, kind = runPolicy(t, fsys, sec)
			} else {
				got, kind = runChanged(sec), "want"
			}
			if *update {
				rewrite(t, file, ar, kind, got)
				return
			}
			want, ok := sec[kind]
			if !ok {
				t.Fatalf("case has no %q section; got:\n%s", kind, got)
			}
			if d := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(got)); d != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", kind, d)
			}
		})
	}
}

func runPolicy(t *testing.T, fsys fstest.MapFS, sec map[string][]byte) (string, string) {
	p, err := policy.Load(fsys, "policy.yaml")
	if err != nil {
		return err.Error(), "error"
	}
	if err := policy.ValidateFile(fsys, "policy.yaml"); err != nil {
		t.Errorf("Load accepts the policy but ValidateFile says: %v", err)
	}
	now := defaultNow
	if s, ok := sec["now"]; ok {
		if now, err = time.Parse(time.RFC3339, strings.TrimSpace(string(s))); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if data, ok := sec["report.json"]; ok {
		var r report.Report
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("report.json: %v", err)
		}
		p.Apply(&r, now)
		r.Finish(p.FailOn)
		for _, f := range r.Findings {
			b.WriteString(findingLine(f))
		}
		fmt.Fprintf(&b, "verdict %s (failOn %s)\n", r.Verdict, r.FailOn)
	}
	for _, o := range p.ExternalRoles {
		fmt.Fprintf(&b, "role %s (%s) rules=%d\n", o, o.Origin, len(rules(o.Body)))
	}
	if p.DefaultNamespace != "default" {
		fmt.Fprintf(&b, "defaultNamespace %s\n", p.DefaultNamespace)
	}
	if p.LegacyTokens != policy.LegacyTokensCluster {
		fmt.Fprintf(&b, "legacyTokens %s\n", p.LegacyTokens)
	}
	if p.ControllerAccounts != policy.ControllerAccountsKubeSystem {
		fmt.Fprintf(&b, "controllerAccounts %s\n", p.ControllerAccounts)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(sec["probe"])), "\n") {
		what, arg, _ := strings.Cut(line, " ")
		switch what {
		case "overlay":
			fmt.Fprintf(&b, "overlay %s selected=%v\n", arg, p.OverlaySelected(arg))
		case "remote":
			fmt.Fprintf(&b, "remote %s allowed=%v\n", arg, glob.URLPrefix(p.RemoteBases, arg))
		case "":
		default:
			t.Fatalf("bad probe %q", line)
		}
	}
	return b.String(), "want"
}

func rules(body map[string]any) []any {
	r, _ := body["rules"].([]any)
	return r
}

func findingLine(f report.Finding) string {
	s := fmt.Sprintf("%s %s %s", f.ID, f.Severity, f.Kind)
	if f.Location.Path != "" {
		s += " " + f.Location.String()
	}
	if e := f.Exemption; e != nil {
		s += fmt.Sprintf(" exempt %q %s", e.Reason, e.Source)
		if e.Expires != "" {
			s += " until " + e.Expires
		}
	}
	if strings.HasPrefix(string(f.Kind), "policy.") {
		s += "\n  " + f.Message
	}
	return s + "\n"
}

func runChanged(sec map[string][]byte) string {
	var b strings.Builder
	fs := policy.Changed(sec["base.yaml"], sec["head.yaml"], policy.DefaultPath)
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s %s\n  %s\n", f.Severity, f.Kind, f.Location, f.Message)
	}
	if len(fs) == 0 {
		b.WriteString("no finding\n")
	}
	return b.String()
}

func rewrite(t *testing.T, file string, ar *txtar.Archive, kind, got string) {
	var files []txtar.File
	for _, f := range ar.Files {
		if f.Name != "want" && f.Name != "error" {
			files = append(files, f)
		}
	}
	ar.Files = append(files, txtar.File{Name: kind, Data: []byte(strings.TrimSpace(got) + "\n")})
	if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestChanged_Absent covers the cases a txtar file cannot express: a nil
// file at both revisions, and identical bytes.
func TestChanged_Absent(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base, head []byte
	}{
		{"both missing", nil, nil},
		{"identical", []byte("failOn: high\n"), []byte("failOn: high\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := policy.Changed(tc.base, tc.head, policy.DefaultPath); len(got) != 0 {
				t.Errorf("Changed = %+v, want none", got)
			}
		})
	}
}

func TestLoad_Missing(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, tc := range []struct {
		name    string
		wantErr bool
	}{
		{"", false},
		{policy.DefaultPath, false},
		{"ci/policy.yaml", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Load(fsys, tc.name)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Load(%q) = %+v, want an error", tc.name, p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(policy.Default(), p, cmp.AllowUnexported(policy.Policy{})); d != "" {
				t.Errorf("Load of a missing default file is not Default() (-want +got):\n%s", d)
			}
		})
	}
	if err := policy.ValidateFile(fsys, ""); err == nil {
		t.Error("ValidateFile of a missing file succeeded")
	}
}

func TestDefault(t *testing.T) {
	p := policy.Default()
	if p.FailOn != report.High || p.DefaultNamespace != "default" || p.Path != policy.DefaultPath {
		t.Errorf("Default() = %+v", p)
	}
	if !p.OverlaySelected("overlays/prod") {
		t.Error("the default policy skips an overlay")
	}
	if glob.URLPrefix(p.RemoteBases, "https://github.com/acme/base") {
		t.Error("the default policy allows a remote base")
	}
}

// TestCases_Coverage checks that every field of the policy file appears in
// some case, so a new field gets a case.
func TestCases_Coverage(t *testing.T) {
	all, err := filepath.Glob("testdata/cases/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, f := range all {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(data)
	}
	for _, field := range []string{"failOn:", "defaultNamespace:", "severities:", "exemptions:", "allow:",
		"externalRoles:", "roles:", "paths:", "overlays:", "include:", "exclude:", "remoteBases:", "legacyTokens:",
		"expires:", "workload:", "permission:", "subject:", "overlay:", "nonResourceURLs:", "resourceNames:"} {
		if !strings.Contains(text.String(), field) {
			t.Errorf("no case uses the policy field %s", field)
		}
	}
}
