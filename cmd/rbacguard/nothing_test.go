package main

import (
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/bot/githubtest"
)

// newDocsRepo is a repository without one manifest: a README and the
// workflow on main, a pull request that edits the README.
func newDocsRepo(t *testing.T) *gitRepo {
	t.Helper()
	dir, env := initRepo(t)
	addWorkflow(t, dir, map[string]string{"README.md": "# platform\n"})
	git(t, dir, env, "add", "-A")
	git(t, dir, env, "commit", "-q", "-m", "base")
	r := &gitRepo{path: dir, env: env, base: git(t, dir, env, "rev-parse", "HEAD")}
	r.mainTip = r.base
	git(t, dir, env, "checkout", "-q", "-b", "feature")
	writeFile(t, dir, "README.md", "# platform\n\nNo manifests yet.\n")
	git(t, dir, env, "add", "-A")
	git(t, dir, env, "commit", "-q", "-m", "head")
	r.head = git(t, dir, env, "rev-parse", "HEAD")
	git(t, dir, env, "checkout", "-q", "main")
	return r
}

// TestAction_NothingToCheck: a pull request in a repository that holds no
// manifest checked nothing. The step exits 2 and the check run concludes
// failure saying what was read and what to pass, never a pass over zero
// overlays.
func TestAction_NothingToCheck(t *testing.T) {
	repo := newDocsRepo(t)
	files, _ := repo.patches(t)
	gh, a := undecidedRun(t, repo, files)
	if !strings.Contains(a.stderr.String(), "nothing to check: ") {
		t.Errorf("stderr %q does not say nothing was checked", a.stderr.String())
	}
	wantFailedRun(t, gh, "nothing to check", "README.md", "Kubernetes manifests", "Nothing was checked")
}

// undecidedRun runs the Action on repo's pull request (files are its
// patches) and wants exit 2: a run that cannot decide.
func undecidedRun(t *testing.T, repo *gitRepo, files []githubtest.File) (*githubtest.Server, *actionRun) {
	t.Helper()
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken)
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: repo.mainTip, HeadSHA: repo.head, Files: files})
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
	if code := a.run(t); code != 2 {
		t.Fatalf("exit %d, want 2\nstderr: %s", code, a.stderr.String())
	}
	return gh, a
}

// wantFailedRun wants one check run, completed with failure, whose title
// or summary holds each of want.
func wantFailedRun(t *testing.T, gh *githubtest.Server, want ...string) {
	t.Helper()
	runs := gh.CheckRuns(ghOwner, ghRepo)
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "failure" {
		t.Fatalf("check runs %+v, want one completed with failure", runs)
	}
	for _, w := range want {
		if !strings.Contains(runs[0].Title+runs[0].Summary, w) {
			t.Errorf("check run lacks %q: %q %q", w, runs[0].Title, runs[0].Summary)
		}
	}
}
