package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/bot/githubtest"
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
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken)
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: repo.mainTip, HeadSHA: repo.head, Files: files})
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
	if code := a.run(t); code != 2 {
		t.Fatalf("exit %d, want 2\nstderr: %s", code, a.stderr.String())
	}
	want := oid + " (" + changed + ")"
	if !strings.Contains(a.stderr.String(), want) {
		t.Errorf("stderr %q does not name %s", a.stderr.String(), want)
	}
	runs := gh.CheckRuns(ghOwner, ghRepo)
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Summary, want) {
		t.Fatalf("check runs %+v, want one failure naming %s", runs, want)
	}
}
