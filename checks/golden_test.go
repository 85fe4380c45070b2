package checks

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs from the golden file (-want +got; go test -update rewrites it):\n%s", name, d)
	}
}

var goldenReports = []struct {
	name string
	r    func() *report.Report
}{
	{"full", fullReport},
	{"scan", scanReport},
	{"empty", emptyReport},
	{"drift", driftReport},
	{"overlays", overlaysReport},
}

func TestWriteText_Golden(t *testing.T) {
	for _, tc := range goldenReports {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, tc.r(), TextOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt.golden", b.Bytes())
		})
	}
	t.Run("full/color+prefix", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteText(&b, fullReport(), TextOptions{Color: true, PathPrefix: "repo"}); err != nil {
			t.Fatal(err)
		}
		golden(t, "full.color.txt.golden", b.Bytes())
	})
}

func TestWriteMarkdown_Golden(t *testing.T) {
	for _, tc := range goldenReports {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteMarkdown(&b, tc.r()); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".md.golden", b.Bytes())
		})
	}
}

func TestWriteJSON_Golden(t *testing.T) {
	for _, tc := range goldenReports {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, tc.r()); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".json.golden", b.Bytes())
		})
	}
}

func TestWriteSARIF_Golden(t *testing.T) {
	for _, tc := range goldenReports {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSARIF(&b, tc.r(), SARIFOptions{Version: "1.2.3"}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".sarif.golden", b.Bytes())
		})
	}
}

// formatCheckRun prints a check-run output for reading in a golden file.
func formatCheckRun(o CheckRunOutput) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "conclusion: %s\ntitle: %s\n\n===== summary (%d bytes) =====\n%s\n===== text (%d bytes) =====\n%s\n",
		o.Conclusion, o.Title, len(o.Summary), o.Summary, len(o.Text), o.Text)
	for i, batch := range Batches(o.Annotations, DefaultLimits().AnnotationsPerRequest) {
		fmt.Fprintf(&b, "===== annotations, request %d =====\n", i+1)
		for _, a := range batch {
			fmt.Fprintf(&b, "%s %s:%d-%d %q\n  %s\n  raw: %s\n", a.Level, a.Path, a.StartLine, a.EndLine, a.Title,
				strings.ReplaceAll(a.Message, "\n", "\n  "), strings.ReplaceAll(a.RawDetails, "\n", " | "))
		}
	}
	return []byte(b.String())
}

func TestCheckRun_Golden(t *testing.T) {
	for _, tc := range goldenReports {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name+".checkrun.golden", formatCheckRun(CheckRun(tc.r(), "rbacguard", DefaultLimits())))
		})
	}
	t.Run("error", func(t *testing.T) {
		err := fmt.Errorf("fetch tarball: GET https://x-access-token:ghs_abcdefghijklmnop1234@codeload.github.com/o/r: token ghs_abcdefghijklmnopqrstuvwxyz0123 expired; Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl")
		golden(t, "error.checkrun.golden", formatCheckRun(UndecidedOutput("rbacguard", ConclusionFailure, "could not decide", "Re-run the check.", err)))
	})
}

func TestReviewComments_Golden(t *testing.T) {
	d, err := ParsePatches(patches())
	if err != nil {
		t.Fatal(err)
	}
	inline, rest := ReviewComments(fullReport(), d)
	var b strings.Builder
	for _, c := range inline {
		fmt.Fprintf(&b, "===== %s:%d %s =====\n%s", c.Path, c.Line, strings.Join(c.FindingIDs, ","), c.Body)
	}
	b.WriteString("===== rest =====\n")
	for _, f := range rest {
		fmt.Fprintf(&b, "%s %s %s %s\n", f.Severity, f.Kind, f.Location, f.ID)
	}
	golden(t, "full.comments.golden", []byte(b.String()))
}
