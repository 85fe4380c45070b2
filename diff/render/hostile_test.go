package render_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

// canary is the content of every file outside the repository. It must
// never appear in anything rendering produces.
const canary = "s3cr3t-canary-7d1f"

// TestHostile renders each archive of testdata/hostile, one attack each,
// from a directory and (when git is installed) from a git commit, with
// PATH holding only fake git, helm and kustomize programs that leave a
// marker if run. It asserts that every expected error appears, the canary
// outside the tree appears nowhere and no program ran.
func TestHostile(t *testing.T) {
	files, err := filepath.Glob("../../testdata/hostile/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile cases: %v", err)
	}
	// Trees are read first: GitRev itself runs git.
	type tree struct {
		name  string
		trees map[string]source.Tree
		a     *txtar.Archive
	}
	// A loopback server stands for the network: nothing may ask it.
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintf(w, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\ndata:\n  x: %s\n", canary)
	}))
	defer srv.Close()
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	for _, prog := range []string{"git", "helm", "kustomize", "evil", "sh", "docker", "podman"} {
		script := fmt.Sprintf("#!/bin/sh\necho %s >> %s\n", prog, marker)
		if err := os.WriteFile(filepath.Join(bin, prog), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var cases []tree
	for _, file := range files {
		a, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeHostile(t, dir, bin, srv.URL, a)
		trees := map[string]source.Tree{}
		d, err := source.Dir(filepath.Join(dir, "repo"), source.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		trees["dir"] = d
		if g, ok := gitTree(t, filepath.Join(dir, "repo")); ok {
			trees["git"] = g
		}
		cases = append(cases, tree{strings.TrimSuffix(filepath.Base(file), ".txtar"), trees, a})
	}
	t.Setenv("PATH", bin)
	for _, c := range cases {
		for kind, tr := range c.trees {
			t.Run(c.name+"/"+kind, func(t *testing.T) {
				opts := render.DefaultOptions()
				opts.Limits = hostileLimits(section(c.a, "limits"))
				start := time.Now()
				var out strings.Builder
				for _, ov := range render.Overlays(tr, opts) {
					res, err := render.Render(context.Background(), tr, ov, opts)
					if err != nil {
						fmt.Fprintf(&out, "error %v\n", err)
						continue
					}
					for _, p := range res.Problems {
						fmt.Fprintf(&out, "problem %v\n", p)
					}
					for _, s := range res.Skipped {
						fmt.Fprintf(&out, "skipped %v\n", s)
					}
					for _, o := range res.Objects {
						fmt.Fprintf(&out, "object %s %v\n", o, o.Body)
					}
				}
				got := out.String()
				if strings.Contains(got, canary) {
					t.Errorf("the canary outside the repository leaked into the output:\n%s", got)
				}
				for _, want := range strings.Split(strings.TrimSpace(section(c.a, "want")), "\n") {
					if want != "" && !strings.Contains(got, want) {
						t.Errorf("output lacks %q:\n%s", want, got)
					}
				}
				if data, err := os.ReadFile(marker); err == nil {
					t.Errorf("rendering started a program: %s", data)
				}
				if n := hits.Load(); n > 0 {
					t.Errorf("rendering made %d requests to the network", n)
				}
				if d := time.Since(start); d > 20*time.Second {
					t.Errorf("rendering took %s", d)
				}
			})
		}
	}
}

func section(a *txtar.Archive, name string) string {
	for _, f := range a.Files {
		if f.Name == name {
			return string(f.Data)
		}
	}
	return ""
}

func hostileLimits(spec string) render.Limits {
	lim := render.DefaultLimits()
	for _, line := range strings.Split(spec, "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch strings.TrimSpace(k) {
		case "maxFileBytes":
			lim.MaxFileBytes = n
		case "maxRenderedBytes":
			lim.MaxRenderedBytes = n
		case "maxResources":
			lim.MaxResources = int(n)
		}
	}
	return lim
}

// writeHostile lays out repo/ and outside/ (the canaries) in dir and
// makes the symbolic links the archive lists. "#GENERATE objects N" and
// "#GENERATE bytes N" files are expanded.
func writeHostile(t *testing.T, dir, bin, server string, a *txtar.Archive) {
	t.Helper()
	outside := filepath.Join(dir, "outside")
	canaries := map[string]string{
		"canary.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: canary\ndata:\n  secret: " + canary + "\n",
		"canary.txt":  canary + "\n",
		"canary.env":  "SECRET=" + canary + "\n",
	}
	for name, data := range canaries {
		writeFile(t, filepath.Join(outside, name), data)
	}
	for _, f := range a.Files {
		if !strings.HasPrefix(f.Name, "repo/") {
			continue
		}
		data := strings.ReplaceAll(string(f.Data), "$OUTSIDE", outside)
		data = strings.ReplaceAll(data, "$BIN", bin)
		data = strings.ReplaceAll(data, "$UPSERVER", strings.ToUpper(server))
		data = strings.ReplaceAll(data, "$SERVER", server)
		data = generate(data)
		writeFile(t, filepath.Join(dir, filepath.FromSlash(f.Name)), data)
	}
	for _, line := range strings.Split(section(a, "symlinks"), "\n") {
		from, to, ok := strings.Cut(line, " -> ")
		if !ok {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimSpace(from)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(strings.TrimSpace(to), p); err != nil {
			t.Fatal(err)
		}
	}
}

func generate(data string) string {
	var kind string
	var n int
	if _, err := fmt.Sscanf(data, "#GENERATE %s %d", &kind, &n); err != nil {
		return data
	}
	var b strings.Builder
	switch kind {
	case "objects":
		for i := range n {
			fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\ndata: {}\n---\n", i)
		}
	case "bytes":
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  pad: \"")
		b.WriteString(strings.Repeat("x", n))
		b.WriteString("\"\n")
	}
	return b.String()
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gitTree commits dir (symbolic links as links) and reads the commit back.
func gitTree(t *testing.T, dir string) (source.Tree, bool) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		return nil, false
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "hostile"},
	} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	tr, err := source.GitRev(context.Background(), dir, "HEAD", source.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return tr, true
}
