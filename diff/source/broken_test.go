package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// brokenRepo commits a small kustomization that git lists first and
// ~500 KB of YAML after it (more than any pipe buffer holds), and returns
// the repository and the oids of the small file and of the big one.
func brokenRepo(t *testing.T) (repo, small, big string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo = t.TempDir()
	gitRun(t, repo, "init", "-q", "-b", "main")
	write(t, filepath.Join(repo, "a/kustomization.yaml"), "resources: []\n")
	var b strings.Builder
	for i := 0; b.Len() < 500<<10; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  k: %q\n", i, strings.Repeat("x", 120))
	}
	write(t, filepath.Join(repo, "b/big.yaml"), b.String())
	gitRun(t, repo, "add", "-A")
	gitRun(t, repo, "commit", "-q", "-m", "one")
	return repo, gitRun(t, repo, "rev-parse", "main:a/kustomization.yaml"), gitRun(t, repo, "rev-parse", "main:b/big.yaml")
}

// packOffset is where object oid starts in the pack of index idx.
func packOffset(t *testing.T, repo, idx, oid string) int {
	t.Helper()
	cmd := exec.Command("git", "-C", repo, "show-index")
	f, err := os.Open(idx)
	must(t, err)
	defer f.Close()
	cmd.Stdin = f
	out, err := cmd.Output()
	must(t, err)
	for l := range strings.Lines(string(out)) {
		var at int
		var id string
		if _, err := fmt.Sscanf(l, "%d %s", &at, &id); err == nil && id == oid {
			return at
		}
	}
	t.Fatalf("%s is not in %s", oid, idx)
	return 0
}

// looseObject is the file of a loose object.
func looseObject(repo, oid string) string {
	return filepath.Join(repo, ".git", "objects", oid[:2], oid[2:])
}

// TestGitRev_BrokenRepository: a repository that cannot give an object of
// the revision ends in an error that names it and says what to do, at
// once, however much git still had to write (it used to hang forever on a
// full pipe once git reported a missing object).
func TestGitRev_BrokenRepository(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rev    string
		damage func(t *testing.T, repo, small, big string)
		want   []string
	}{{
		name:   "missing blob before 500 KB of YAML",
		rev:    "main",
		damage: func(t *testing.T, repo, small, big string) { must(t, os.Remove(looseObject(repo, small))) },
		want:   []string{"revision main", "lacks 1 object", "(a/kustomization.yaml)", "fetch it whole"},
	}, {
		name: "missing tree",
		rev:  "main",
		damage: func(t *testing.T, repo, small, big string) {
			must(t, os.Remove(looseObject(repo, gitRun(t, repo, "rev-parse", "main:a"))))
		},
		want: []string{"revision main", "git ls-tree", "fetch it whole"},
	}, {
		name: "missing commit",
		rev:  "main",
		damage: func(t *testing.T, repo, small, big string) {
			must(t, os.Remove(looseObject(repo, gitRun(t, repo, "rev-parse", "main"))))
		},
		want: []string{"revision main", "(the commit)", "fetch it whole"},
	}, {
		name: "corrupt pack",
		rev:  "main",
		damage: func(t *testing.T, repo, small, big string) {
			gitRun(t, repo, "repack", "-a", "-d", "-q")
			packs, _ := filepath.Glob(filepath.Join(repo, ".git/objects/pack/*.pack"))
			if len(packs) != 1 {
				t.Fatalf("packs: %v", packs)
			}
			data, err := os.ReadFile(packs[0])
			must(t, err)
			at := packOffset(t, repo, strings.TrimSuffix(packs[0], ".pack")+".idx", big)
			for i := at + 8; i < at+24; i++ { // inside the big blob's compressed data
				data[i] ^= 0xff
			}
			must(t, os.Chmod(packs[0], 0o644))
			must(t, os.WriteFile(packs[0], data, 0o644))
		},
		want: []string{"revision main", "git cat-file", "packed object " + "BIG" + " (stored in", "is corrupt", "fetch it whole"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repo, small, big := brokenRepo(t)
			tc.damage(t, repo, small, big)
			// The deadline only bounds a regression: a broken repository
			// must end on its own, long before it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := GitRev(ctx, repo, tc.rev, DefaultLimits())
			if err == nil {
				t.Fatal("a broken repository was read")
			}
			if ctx.Err() != nil {
				t.Fatalf("GitRev ran until the deadline: %v", err)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "BIG", big); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestGitRev_MissingObjectsNamed: every missing object is reported, with
// the path that holds it, not only the first.
func TestGitRev_MissingObjectsNamed(t *testing.T) {
	repo, small, big := brokenRepo(t)
	must(t, os.Remove(looseObject(repo, small)))
	must(t, os.Remove(looseObject(repo, big)))
	_, err := GitRev(context.Background(), repo, "main", DefaultLimits())
	var me *MissingObjectsError
	if !errors.As(err, &me) {
		t.Fatalf("error %v, want a *MissingObjectsError", err)
	}
	if got := strings.Join(me.Objects, ","); got != small+","+big {
		t.Errorf("objects %s, want %s,%s", got, small, big)
	}
	if !strings.Contains(err.Error(), "(b/big.yaml)") {
		t.Errorf("error %q does not name b/big.yaml", err)
	}
}

// TestResolveRev_Shallow: a revision before where a shallow clone's history
// stops is not called a typo: the error says the clone is shallow and how
// to fetch the history.
func TestResolveRev_Shallow(t *testing.T) {
	origin, _, _ := brokenRepo(t)
	write(t, filepath.Join(origin, "a/kustomization.yaml"), "resources: [x.yaml]\n")
	gitRun(t, origin, "commit", "-q", "-am", "two")
	clone := t.TempDir()
	gitRun(t, clone, "clone", "-q", "--depth=1", "file://"+origin, ".")
	_, err := ResolveRev(context.Background(), clone, "HEAD~1")
	if err == nil || !strings.Contains(err.Error(), "whose clone is shallow") || !strings.Contains(err.Error(), "git fetch --unshallow") {
		t.Errorf("error %v, want one saying the clone is shallow and what to fetch", err)
	}
	if _, err := ResolveRev(context.Background(), origin, "no-such-branch"); err == nil || strings.Contains(err.Error(), "shallow") {
		t.Errorf("error %v in a full clone, want no word of shallowness", err)
	}
}
