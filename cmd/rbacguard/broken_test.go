package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAction_MissingObject: a checkout that lacks an object of the head
// (a partial clone, a damaged repository) ends at once with exit 2 naming
// the object and its file, and the check run concludes failure with that
// reason; it never hangs.
func TestAction_MissingObject(t *testing.T) {
	repo := newGitRepo(t)
	files, _ := repo.patches(t)
	changed := strings.Fields(git(t, repo.path, repo.env, "diff", "--name-only", repo.base, repo.head, "--", "*.yaml"))[0]
	oid := git(t, repo.path, repo.env, "rev-parse", repo.head+":"+changed)
	if err := os.Remove(filepath.Join(repo.path, ".git", "objects", oid[:2], oid[2:])); err != nil {
		t.Fatal(err)
	}
	gh, a := undecidedRun(t, repo, files)
	want := oid + " (" + changed + ")"
	if !strings.Contains(a.stderr.String(), want) {
		t.Errorf("stderr %q does not name %s", a.stderr.String(), want)
	}
	wantFailedRun(t, gh, want, "fetch it whole")
}
