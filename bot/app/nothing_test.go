package app

import (
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/bot/githubtest"
)

// A pull request in a repository without one manifest checked nothing:
// the run concludes failure saying what was read and what to pass, never
// success over zero overlays (before: "0 overlays checked", success).
func TestWebhook_NothingToCheck(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.SetTarball(owner, repoName, baseSHA, map[string]string{"README.md": "# platform\n"})
	e.fake.SetTarball(owner, repoName, headSHA, map[string]string{"README.md": "# platform\n\nNo manifests yet.\n"})
	e.fake.AddPullRequest(owner, repoName, githubtest.PullRequest{
		Number: prNumber, BaseSHA: baseSHA, HeadSHA: headSHA, BaseRef: "main", HeadRef: "docs",
		Files: []githubtest.File{{Filename: "README.md", Status: "modified", Patch: patch("# platform\n", "# platform\n\nNo manifests yet.\n")}},
	})
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("refused")
	}
	if got := e.wait(1); got[0] != jobError {
		t.Fatalf("outcome %v, want %s", got, jobError)
	}
	runs := e.fake.CheckRuns(owner, repoName)
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "failure" {
		t.Fatalf("runs = %+v, want one completed with failure", runs)
	}
	for _, want := range []string{"nothing to check", "README.md", "Nothing was checked: the commits hold no Kubernetes manifest"} {
		if !strings.Contains(runs[0].Title+runs[0].Summary, want) {
			t.Errorf("check run lacks %q: %q %q", want, runs[0].Title, runs[0].Summary)
		}
	}
}
