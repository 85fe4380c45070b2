package source

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMem_AddRefusesEscapes(t *testing.T) {
	m := NewMem("x", DefaultLimits())
	for _, p := range []string{"../etc/passwd", "/etc/passwd", "a/../../b", "."} {
		if err := m.Add(p, []byte("x")); err == nil {
			t.Errorf("Add(%q) accepted a path that leaves the tree", p)
		}
	}
	if err := m.Add("a/./b.yaml", []byte("x")); err != nil {
		t.Errorf("Add(a/./b.yaml) = %v", err)
	}
	if got := m.Files(); len(got) != 1 || got[0] != "a/b.yaml" {
		t.Errorf("Files() = %v", got)
	}
}

func TestMem_Limits(t *testing.T) {
	m := NewMem("x", Limits{MaxFileBytes: 4, MaxTotalBytes: 6, MaxFiles: 2})
	if err := m.Add("big", []byte("12345")); err != nil || len(m.Skipped()) != 1 {
		t.Errorf("a file over the file limit is skipped, not an error: %v %v", err, m.Skipped())
	}
	if err := m.Add("a", []byte("1234")); err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if err := m.Add("b", []byte("123")); !errors.As(err, &le) {
		t.Errorf("over the total: %v, want a LimitError", err)
	}
	m = NewMem("x", Limits{MaxFiles: 1})
	_ = m.Add("a", nil)
	if err := m.Add("b", nil); !errors.As(err, &le) {
		t.Errorf("over the file count: %v, want a LimitError", err)
	}
}

func TestDir_SymlinksStayInside(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "canary.yaml"), "CANARY")
	root := t.TempDir()
	write(t, filepath.Join(root, "in.yaml"), "inside")
	write(t, filepath.Join(root, ".git", "config"), "not part of the tree")
	must(t, os.Symlink(filepath.Join(outside, "canary.yaml"), filepath.Join(root, "abs.yaml")))
	must(t, os.Symlink("../"+filepath.Base(outside)+"/canary.yaml", filepath.Join(root, "rel.yaml")))
	must(t, os.Symlink("in.yaml", filepath.Join(root, "ok.yaml")))
	tr, err := Dir(root, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tr.Files(), ","); got != "in.yaml,ok.yaml" {
		t.Errorf("files = %s, want in.yaml,ok.yaml", got)
	}
	for _, f := range tr.Files() {
		data, _ := fs.ReadFile(tr, f)
		if strings.Contains(string(data), "CANARY") {
			t.Errorf("%s reads the canary outside the tree", f)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestGitRev_ReadsObjectsNotTheWorkTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	gitRun(t, repo, "init", "-q", "-b", "main")
	write(t, filepath.Join(repo, "a.yaml"), "committed")
	write(t, filepath.Join(repo, ".gitignore"), "ignored.yaml\n")
	must(t, os.Symlink("/etc/passwd", filepath.Join(repo, "escape.yaml")))
	must(t, os.Symlink("a.yaml", filepath.Join(repo, "link.yaml")))
	gitRun(t, repo, "add", "-A")
	gitRun(t, repo, "commit", "-q", "-m", "base")
	write(t, filepath.Join(repo, "a.yaml"), "changed in the work tree")
	write(t, filepath.Join(repo, "untracked.yaml"), "untracked")
	write(t, filepath.Join(repo, "ignored.yaml"), "ignored")

	ctx := context.Background()
	tr, err := GitRev(ctx, repo, "main", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tr.Files(), ","); got != ".gitignore,a.yaml,link.yaml" {
		t.Errorf("files = %s", got)
	}
	if data, _ := fs.ReadFile(tr, "a.yaml"); string(data) != "committed" {
		t.Errorf("a.yaml = %q, want the committed content", data)
	}
	if data, _ := fs.ReadFile(tr, "link.yaml"); string(data) != "committed" {
		t.Errorf("link.yaml = %q, want the link's target inside the tree", data)
	}
	if len(tr.Rev()) != 40 {
		t.Errorf("Rev() = %q, want a full SHA", tr.Rev())
	}

	wt, err := WorkTree(ctx, repo, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(wt.Files(), ","); got != ".gitignore,a.yaml,link.yaml,untracked.yaml" {
		t.Errorf("work tree files = %s (ignored files and links leaving the tree are out)", got)
	}

	if _, err := GitRev(ctx, repo, "--output=/tmp/x", DefaultLimits()); err == nil {
		t.Error("a revision that looks like a flag was accepted")
	}
}

func TestGit_ErrorsHideCredentials(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	gitRun(t, repo, "init", "-q")
	// Port 9 on loopback refuses at once: git fails and names the URL.
	_, err := Git(context.Background(), repo, "fetch", "https://user:s3cret@127.0.0.1:9/x.git")
	if err == nil {
		t.Fatal("fetch from a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error = %q shows the credentials", err)
	}
	if got := urlCredentials.ReplaceAllString("fatal: 'https://u:p@host/x'", "://[redacted]@"); got != "fatal: 'https://[redacted]@host/x'" {
		t.Errorf("redaction = %q", got)
	}
}
