package diff_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/change"
	"github.com/rbacguard/rbacguard/diff/remote/remotetest"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

var update = flag.Bool("update", false, "rewrite the want section of testdata/cases/*.txtar")

// TestCases runs every testdata/cases/*.txtar: files under base/ and head/
// are the two trees, an optional "options" file sets
// "mode: scan", "defaultNamespace: x", "include: glob" or "remote.allow:
// glob"; files under remote/owner/repo@tag/ are served by a local
// github.com, and under chart/name@version/ by a local chart repository
// the trees name as $CHARTS. "want" lists
// the findings, one a line, as formatCase prints them (or the run's error).
// An optional "comments" section holds the review comments a pull request
// of the case would get (path:line and body, as checks.Reviews plans them
// on the patches GitHub would show), so that one file shows the YAML line,
// the finding and the comment; -update rewrites it where it is present.
func TestCases(t *testing.T) {
	files, err := filepath.Glob("../testdata/cases/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, comments := runCase(t, a)
			want, wantComments, hasComments := "", "", false
			for _, f := range a.Files {
				switch f.Name {
				case "want":
					want = string(f.Data)
				case "comments":
					wantComments, hasComments = string(f.Data), true
				}
			}
			if *update {
				setFile(a, "want", got)
				if hasComments {
					setFile(a, "comments", comments)
				}
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings differ (-want +got):\n%s\nrun with -update to accept", diff)
			}
			if diff := cmp.Diff(wantComments, comments); hasComments && diff != "" {
				t.Errorf("review comments differ (-want +got):\n%s\nrun with -update to accept", diff)
			}
		})
	}
}

// runCase returns the case's findings as formatCase prints them and the
// review comments of its change.
func runCase(t *testing.T, a *txtar.Archive) (findings, comments string) {
	t.Helper()
	base := source.NewMem("base", source.DefaultLimits())
	head := source.NewMem("head", source.DefaultLimits())
	opts := diff.DefaultOptions()
	mode := "diff"
	remotes := map[string]map[string]string{} // "owner/repo@tag" → its files
	files := map[string][]byte{}              // URL path → a file github.com serves
	charts := map[string]map[string]string{}  // "name@version" → its files
	for _, f := range a.Files {
		switch {
		case strings.HasPrefix(f.Name, "chart/"):
			// chart/name@version/path: served by a local chart repository
			// whose URL the trees name as $CHARTS.
			key, rest, _ := strings.Cut(strings.TrimPrefix(f.Name, "chart/"), "/")
			if charts[key] == nil {
				charts[key] = map[string]string{}
			}
			charts[key][rest] = string(f.Data)
		case strings.HasPrefix(f.Name, "files/"):
			files[strings.TrimPrefix(f.Name, "files")] = f.Data
		case strings.HasPrefix(f.Name, "remote/"):
			// remote/owner/repo@tag/path: served by a local github.com.
			parts := strings.SplitN(strings.TrimPrefix(f.Name, "remote/"), "/", 3)
			key := parts[0] + "/" + parts[1]
			if remotes[key] == nil {
				remotes[key] = map[string]string{}
			}
			remotes[key][parts[2]] = string(f.Data)
		case strings.HasPrefix(f.Name, "base/"), strings.HasPrefix(f.Name, "head/"):

		case f.Name == "options":
			for _, line := range strings.Split(string(f.Data), "\n") {
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimSpace(v)
				switch strings.TrimSpace(k) {
				case "mode":
					mode = v
				case "defaultNamespace":
					opts.DefaultNamespace = v
				case "include":
					opts.Render.Include = append(opts.Render.Include, v)
				case "remote.allow":
					opts.Render.Remote.Allow = append(opts.Render.Remote.Allow, v)
				}
			}
		}
	}
	chartsURL := "https://charts.invalid"
	if len(charts) > 0 {
		repo := remotetest.NewChartRepo(t)
		for key, files := range charts {
			name, version, _ := strings.Cut(key, "@")
			repo.AddChart(name, version, files)
		}
		repo.WriteIndex()
		chartsURL = repo.RepoURL()
		opts.Render.Remote = repo.Options(opts.Render.Remote.Allow...)
	}
	for _, f := range a.Files {
		data := bytes.ReplaceAll(f.Data, []byte("$CHARTS"), []byte(chartsURL))
		if p, ok := strings.CutPrefix(f.Name, "base/"); ok {
			must(t, base.Add(p, data))
		}
		if p, ok := strings.CutPrefix(f.Name, "head/"); ok {
			must(t, head.Add(p, data))
		}
	}
	if len(remotes) > 0 || len(files) > 0 || len(opts.Render.Remote.Allow) > 0 && len(charts) == 0 {
		srv := remotetest.New(t)
		for key, files := range remotes {
			repo, tag, _ := strings.Cut(key, "@")
			commit := srv.AddRepo(repo, tag, files)
			if tag == "main" { // a branch
				delete(srv.Tags, key)
				srv.Branches[key] = commit
			}
		}
		srv.Files = files
		ro := srv.Options(opts.Render.Remote.Allow...)
		opts.Render.Remote = ro
	}
	var r *report.Report
	var err error
	if mode == "scan" {
		r, err = diff.Scan(context.Background(), head, opts)
	} else {
		r, err = diff.Run(context.Background(), base, head, opts)
	}
	if err != nil {
		return "error " + err.Error() + "\n", ""
	}
	findings, comments = formatCase(r), formatComments(r, base, head)
	return strings.ReplaceAll(findings, chartsURL, "$CHARTS"), strings.ReplaceAll(comments, chartsURL, "$CHARTS")
}

// formatCase prints what a case asserts: the overlays that are not plainly
// rendered, then each finding with its severity, kind, subject, permission,
// scope, location, chain and workloads.
func formatCase(r *report.Report) string {
	var b strings.Builder
	for _, o := range r.Overlays {
		if o.Status != report.OverlayRendered || o.StandsInFor != "" {
			fmt.Fprintf(&b, "overlay %s %s", o.Path, o.Status)
			if o.StandsInFor != "" {
				fmt.Fprintf(&b, " (in place of %s)", o.StandsInFor)
			}
			fmt.Fprintln(&b)
		}
		for _, s := range o.Skipped {
			fmt.Fprintf(&b, "  skipped %s\n", s)
		}
		for _, in := range o.Inputs {
			fmt.Fprintf(&b, "input of %s: %s %s at %s (%s:%d)\n", o.Path, in.URL, in.Ref, in.Commit, in.Path, in.Line)
		}
	}
	for _, d := range r.SkippedDirs {
		fmt.Fprintf(&b, "skipped dir %s\n", d.Path)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s %s", f.Severity, f.Kind)
		if f.Subject != nil {
			fmt.Fprintf(&b, " %s", f.Subject)
		}
		if f.Permission != nil {
			fmt.Fprintf(&b, ": %s", f.Permission)
		}
		if f.Scope != nil {
			fmt.Fprintf(&b, " %s", f.Scope)
		}
		fmt.Fprintf(&b, " @ %s", f.Location)
		if f.Preexisting {
			fmt.Fprint(&b, " (preexisting)")
		}
		fmt.Fprintln(&b)
		for _, l := range f.AlsoAt {
			fmt.Fprintf(&b, "  also at %s\n", l)
		}
		if f.Permission == nil || f.Kind == report.RBACDecrease {
			fmt.Fprintf(&b, "  %s\n", f.Message)
		}
		if len(f.Via) > 0 {
			var via []string
			for _, v := range f.Via {
				via = append(via, v.String())
			}
			fmt.Fprintf(&b, "  via %s\n", strings.Join(via, " > "))
		}
		if len(f.Workloads) > 0 {
			var ws []string
			for _, w := range f.Workloads {
				ws = append(ws, w.String())
			}
			fmt.Fprintf(&b, "  runs in %s\n", strings.Join(ws, ", "))
		}
		if len(f.Path) > 0 { // rbac.escalation: the path on one line, then each step's grants
			fmt.Fprintf(&b, "  %s\n", f.Message)
			for _, st := range f.Path {
				for _, g := range st.Grants {
					var via []string
					for _, v := range g.Via {
						via = append(via, v.String())
					}
					fmt.Fprintf(&b, "  step %s: %s %s via %s\n", st.Primitive, g.Permission, g.Scope, strings.Join(via, " > "))
				}
			}
		}
	}
	fmt.Fprintf(&b, "verdict %s\n", r.Verdict)
	return b.String()
}

// formatComments prints the review comments a pull request from base to
// head would get: planned on the patches GitHub would show for the change.
func formatComments(r *report.Report, base, head source.Tree) string {
	set := change.Between(base, head)
	patches := map[string]string{}
	for _, p := range head.Files() {
		if patch := set.Patch(p); patch != "" {
			patches[p] = patch
		}
	}
	d, err := checks.ParsePatches(patches)
	if err != nil {
		return "error " + err.Error() + "\n"
	}
	var b strings.Builder
	for _, rv := range checks.Reviews(r, d, nil, "0123456789abcdef0123456789abcdef01234567", "rbacguard").Reviews {
		for _, c := range rv.Comments {
			fmt.Fprintf(&b, "%s:%d\n%s\n\n", c.Path, c.Line, strings.TrimSpace(c.Body))
		}
	}
	return b.String()
}

func setFile(a *txtar.Archive, name, data string) {
	for i := range a.Files {
		if a.Files[i].Name == name {
			a.Files[i].Data = []byte(data)
			return
		}
	}
	a.Files = append(a.Files, txtar.File{Name: name, Data: []byte(data)})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
