package checks

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"golang.org/x/tools/txtar"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/query"
)

// TestQueryCases runs every testdata/query/*.txtar: the .yaml files are one
// overlay, "ask" holds one question per line, spelled as on the command
// line (who-can …, can-i …), and "want" the text answers (-update
// rewrites it). The
// conformance module asks the same questions of the Kubernetes
// authorizer (diff/rbac/conformance, TestQueryCases).
func TestQueryCases(t *testing.T) {
	files, err := filepath.Glob("../testdata/query/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ov := query.Overlay{Path: "."}
			var ask string
			wantAt := -1
			for i, f := range a.Files {
				switch {
				case f.Name == "ask":
					ask = string(f.Data)
				case f.Name == "want":
					wantAt = i
				case path.Ext(f.Name) == ".yaml":
					objs, errs := manifest.Decode(f.Name, f.Data)
					if len(errs) > 0 {
						t.Fatalf("%s: %v", f.Name, errs[0])
					}
					ov.Objects = append(ov.Objects, objs...)
				}
			}
			var got bytes.Buffer
			for _, line := range strings.Split(strings.TrimSpace(ask), "\n") {
				got.WriteString("$ " + line + "\n")
				if err := askLine(&got, ov, line); err != nil {
					got.WriteString("error: " + err.Error() + "\n")
				}
			}
			if *update {
				if wantAt < 0 {
					a.Files = append(a.Files, txtar.File{Name: "want"})
					wantAt = len(a.Files) - 1
				}
				a.Files[wantAt].Data = got.Bytes()
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantAt < 0 {
				t.Fatal("no want section: run with -update")
			}
			if d := cmp.Diff(string(a.Files[wantAt].Data), got.String()); d != "" {
				t.Errorf("answers differ (-want +got):\n%s\nrun with -update to accept", d)
			}
		})
	}
}

// askLine answers one question line the way the commands do.
func askLine(w *bytes.Buffer, ov query.Overlay, line string) error {
	args := strings.Fields(line)
	fs := pflag.NewFlagSet(args[0], pflag.ContinueOnError)
	ns := fs.StringP("namespace", "n", "", "")
	name := fs.String("name", "", "")
	group := fs.String("group", "", "")
	url := fs.String("url", "", "")
	as := fs.String("as", "", "")
	asGroups := fs.StringSlice("as-group", nil, "")
	list := fs.Bool("list", false, "")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	pos := fs.Args()
	o := query.Options{}
	switch args[0] {
	case "who-can", "can-i":
	default:
		return nil
	}
	if args[0] == "can-i" {
		id, err := query.ParseIdentity(*as, *asGroups)
		if err != nil {
			return err
		}
		if *list {
			var nss []string
			if *ns != "" {
				nss = []string{*ns}
			}
			a := &query.ListAnswer{Identity: id, Overlays: []query.ListOverlay{query.List(ov, id, nss, o)}}
			return WriteList(w, a, "text", TextOptions{})
		}
		r, err := request(pos, *group, *ns, *name, *url)
		if err != nil {
			return err
		}
		a := &query.CanIAnswer{Identity: id, Request: r, Overlays: []query.CanIOverlay{query.CanI(ov, id, r, o)}}
		return WriteCanI(w, a, "text", TextOptions{})
	}
	r, err := request(pos, *group, *ns, *name, *url)
	if err != nil {
		return err
	}
	a := &query.WhoCanAnswer{Request: r, Overlays: []query.WhoCanOverlay{query.WhoCan(ov, r, o)}}
	return WriteWhoCan(w, a, "text", QueryTextOptions{ShowBuiltins: true})
}

func request(pos []string, group, ns, name, url string) (query.Request, error) {
	pos = append(pos, "", "")
	if url != "" {
		return query.ParseRequest(pos[0], "", group, ns, name, url)
	}
	return query.ParseRequest(pos[0], pos[1], group, ns, name, url)
}
