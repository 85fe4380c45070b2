package githubtest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/bot/githubtest"
)

// The listings an App walks to find its work: installations (JWT), their
// repositories (installation token), open pull requests; paginated.
func TestAppListings(t *testing.T) {
	now := time.Now()
	s, wf := newFake(t)
	key, _ := keys()
	s.SetApp(appID, &key.PublicKey)
	s.AddInstallation(instID, owner, repo)
	s.AddInstallation(instID, owner, "second")
	s.AddInstallation(instID+1, "other", "thing")
	for n := 2; n <= 4; n++ {
		s.AddPullRequest(owner, repo, githubtest.PullRequest{Number: n, BaseSHA: baseSHA, HeadSHA: headSHA, Closed: n == 3})
	}
	jwtClient := s.Client(appJWT(t, now))

	insts, resp, err := jwtClient.Apps.ListInstallations(ctx, &github.ListOptions{PerPage: 1})
	if err != nil || len(insts) != 1 || insts[0].GetID() != instID || resp.NextPage != 2 {
		t.Fatalf("ListInstallations page 1 = %v, next %d, %v", insts, resp.NextPage, err)
	}
	if app, _, err := jwtClient.Apps.Get(ctx, ""); err != nil || app.GetID() != appID || app.GetSlug() == "" {
		t.Errorf("GET /app = %v, %v", app, err)
	}
	if _, _, err := wf.Apps.ListInstallations(ctx, nil); status(t, err) != 401 {
		t.Errorf("installations with a token: %v, want 401", err)
	}

	tok, _, err := jwtClient.Apps.CreateInstallationToken(ctx, instID, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client(tok.GetToken())
	repos, _, err := c.Apps.ListRepos(ctx, nil)
	if err != nil || repos.GetTotalCount() != 2 || repos.Repositories[1].GetName() != "second" || repos.Repositories[0].GetOwner().GetLogin() != owner {
		t.Errorf("ListRepos = %+v, %v", repos, err)
	}
	if _, _, err := wf.Apps.ListRepos(ctx, nil); status(t, err) != http.StatusForbidden {
		t.Errorf("ListRepos with a workflow token: %v, want 403", err)
	}

	open, _, err := c.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: "open"})
	var nums []int
	for _, p := range open {
		nums = append(nums, p.GetNumber())
	}
	if err != nil || len(nums) != 3 || nums[0] != 1 || nums[1] != 2 || nums[2] != 4 {
		t.Errorf("open pull requests = %v, %v; want 1 2 4", nums, err)
	}
	closed, _, err := c.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: "closed"})
	if err != nil || len(closed) != 1 || closed[0].GetState() != "closed" {
		t.Errorf("closed pull requests = %v, %v", closed, err)
	}
}

// FailAfter does the work and then answers the fault: the client sees a
// 502 although the check run exists.
func TestFailAfter(t *testing.T) {
	s, _ := newFake(t)
	key, _ := keys()
	s.SetApp(appID, &key.PublicKey)
	s.AddInstallation(instID, owner, repo)
	tok, _, err := s.Client(appJWT(t, time.Now())).Apps.CreateInstallationToken(ctx, instID, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client(tok.GetToken())
	s.FailAfter("POST", "/repos/*/*/check-runs", http.StatusBadGateway, 1)
	_, _, err = c.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA})
	if status(t, err) != http.StatusBadGateway {
		t.Fatalf("create: %v, want 502", err)
	}
	if runs := s.CheckRuns(owner, repo); len(runs) != 1 {
		t.Fatalf("%d runs stored, want the one created before the fault", len(runs))
	}
	if _, _, err := c.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA}); err != nil {
		t.Fatalf("the fault is spent: %v", err)
	}
	if runs := s.CheckRuns(owner, repo); len(runs) != 2 {
		t.Errorf("%d runs, want 2 (a blind retry duplicates)", len(runs))
	}
}
