package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/bot/githubtest"
)

// newDocsRepo is a repository without one manifest: a README and the
// workflow on main, a pull request that edits the README.
func newDocsRepo(t *testing.T) *gitRepo {
	t.Helper()
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_DATE=2026-11-20T10:00:00Z", "GIT_COMMITTER_DATE=2026-11-20T10:00:00Z")
	dir := t.TempDir()
	git(t, dir, env, "init", "-q")
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
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken)
	files, _ := repo.patches(t)
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: repo.mainTip, HeadSHA: repo.head, Files: files})
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
	if code := a.run(t); code != 2 {
		t.Fatalf("exit %d, want 2\nstderr: %s", code, a.stderr.String())
	}
	if !strings.Contains(a.stderr.String(), "nothing to check: ") {
		t.Errorf("stderr %q does not say nothing was checked", a.stderr.String())
	}
	runs := gh.CheckRuns(ghOwner, ghRepo)
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "failure" {
		t.Fatalf("check runs %+v, want one completed with failure", runs)
	}
	for _, want := range []string{"nothing to check", "README.md", "Kubernetes manifests", "Nothing was checked"} {
		if !strings.Contains(runs[0].Title+runs[0].Summary, want) {
			t.Errorf("check run lacks %q: %q %q", want, runs[0].Title, runs[0].Summary)
		}
	}
}
