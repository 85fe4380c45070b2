package token_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/token"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// A case is a txtar archive:
//
//	-- base/NAME.yaml --   objects at base (any number of files)
//	-- head/NAME.yaml --   objects at head
//	-- mode --             "scan" to scan head alone; diff otherwise
//	-- risk --             AccountRisk stub: "ns/name severity phrase…";
//	                       without this section AccountRisk is nil
//	-- increase --         AccountIncrease stub: "ns/name [severity phrase…]" per line (low when unsaid)
//	-- want --             one line per finding:
//	                       severity kind subject-or-object location message
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := parseCase(t, ar)
			got := c.run()
			again := c.run()
			if diff := cmp.Diff(got, again); diff != "" {
				t.Fatalf("not deterministic (-first +second):\n%s", diff)
			}
			checkFindings(t, got)
			// IDs never depend on lines: shifting every head file down
			// gives the same findings under the same IDs.
			shifted := parseCase(t, shiftHead(ar)).run()
			if diff := cmp.Diff(idsOf(got), idsOf(shifted)); diff != "" {
				t.Errorf("ids move with lines (-before +after):\n%s", diff)
			}
			lines := wantLines(got)
			if *update {
				setSection(ar, "want", strings.Join(lines, "\n"))
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := nonEmptyLines(section(ar, "want"))
			if diff := cmp.Diff(want, lines); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

type tcase struct {
	base, head []*manifest.Object
	scan       bool
	opts       token.Options
}

func (c tcase) run() []report.Finding {
	if c.scan {
		return token.Scan("overlays/test", c.head, c.opts)
	}
	return token.Compare("overlays/test", c.base, c.head, c.opts)
}

func parseCase(t *testing.T, ar *txtar.Archive) tcase {
	t.Helper()
	var c tcase
	for _, f := range ar.Files {
		side, name, ok := strings.Cut(f.Name, "/")
		if !ok || side != "base" && side != "head" {
			continue
		}
		objs := decode(t, name, f.Data)
		if side == "base" {
			c.base = append(c.base, objs...)
		} else {
			c.head = append(c.head, objs...)
		}
	}
	c.scan = strings.TrimSpace(section(ar, "mode")) == "scan"
	if r, ok := sectionOK(ar, "risk"); ok {
		risks := map[string][2]string{}
		for _, l := range nonEmptyLines(r) {
			f := strings.SplitN(l, " ", 3)
			if len(f) < 2 {
				t.Fatalf("risk line %q: want ns/name severity phrase", l)
			}
			f = append(f, "")
			risks[f[0]] = [2]string{f[1], f[2]}
		}
		c.opts.AccountRisk = func(ns, name string) (report.Severity, string) {
			r := risks[ns+"/"+name]
			return report.Severity(r[0]), r[1]
		}
	}
	inc := map[string][2]string{}
	for _, l := range nonEmptyLines(section(ar, "increase")) {
		f := append(strings.SplitN(l, " ", 3), "low", "")
		inc[f[0]] = [2]string{f[1], f[2]}
	}
	c.opts.AccountIncrease = func(ns, name string) (report.Severity, string) {
		r, ok := inc[ns+"/"+name]
		if !ok {
			return "", ""
		}
		return report.Severity(r[0]), r[1]
	}
	return c
}

// decode reads a file as render hands it over (configuration files come
// named by their path).
func decode(t *testing.T, name string, data []byte) []*manifest.Object {
	t.Helper()
	objs, errs := manifest.Decode(name, data)
	for _, err := range errs {
		var de *manifest.DocError
		if !errors.As(err, &de) || !errors.Is(err, manifest.ErrNotObject) {
			t.Logf("decode %s: %v", name, err)
		}
	}
	return objs
}

func checkFindings(t *testing.T, fs []report.Finding) {
	t.Helper()
	ids := map[string]bool{}
	for _, f := range fs {
		if f.ID == "" || f.Message == "" || f.Location.Path == "" || f.Overlay != "overlays/test" {
			t.Errorf("incomplete finding: %+v", f)
		}
		if ids[f.ID] {
			t.Errorf("duplicate id %s: %s", f.ID, f.Message)
		}
		ids[f.ID] = true
		if f.Severity.Rank() == 0 {
			t.Errorf("bad severity %q: %s", f.Severity, f.Message)
		}
	}
}

func wantLines(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		who := "-"
		switch {
		case f.Subject != nil:
			who = f.Subject.Kind + ":" + f.Subject.Namespace + "/" + f.Subject.Name
		case len(f.Via) > 0:
			who = f.Via[0].Kind + ":" + f.Via[0].Namespace + "/" + f.Via[0].Name
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s", f.Severity, f.Kind, who, f.Location, f.Message))
	}
	return out
}

func sectionOK(ar *txtar.Archive, name string) (string, bool) {
	for _, f := range ar.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

func section(ar *txtar.Archive, name string) string {
	s, _ := sectionOK(ar, name)
	return s
}

func setSection(ar *txtar.Archive, name, body string) {
	if body != "" {
		body += "\n"
	}
	for i, f := range ar.Files {
		if f.Name == name {
			ar.Files[i].Data = []byte(body)
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(body)})
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func shiftHead(ar *txtar.Archive) *txtar.Archive {
	out := &txtar.Archive{Comment: ar.Comment}
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, "head/") {
			f.Data = append([]byte("# moved down\n\n"), f.Data...)
		}
		out.Files = append(out.Files, f)
	}
	return out
}

func idsOf(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+" "+string(f.Severity))
	}
	slices.Sort(out)
	return out
}
