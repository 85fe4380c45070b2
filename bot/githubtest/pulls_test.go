package githubtest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"
	"github.com/rbacguard/rbacguard/bot/githubtest"
)

func manyFiles(s *githubtest.Server, n int) {
	var files []githubtest.File
	for i := range n {
		files = append(files, githubtest.File{Filename: fmt.Sprintf("f%04d.yaml", i), Status: "added", Patch: "@@ -0,0 +1 @@\n+x"})
	}
	s.AddPullRequest(owner, repo, githubtest.PullRequest{Number: 2, BaseSHA: baseSHA, HeadSHA: headSHA, Files: files})
}

func TestListFilesPagination(t *testing.T) {
	s, c := newFake(t)
	manyFiles(s, 250)
	var pages, total []int
	opts := &github.ListOptions{PerPage: 100}
	for {
		files, resp, err := c.PullRequests.ListFiles(ctx, owner, repo, 2, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(files))
		total = append(total, resp.LastPage)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if diff := cmp.Diff([]int{100, 100, 50}, pages); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{3, 3, 0}, total); diff != "" {
		t.Errorf("LastPage per page (-want +got):\n%s", diff)
	}
}

func TestListFilesPageSizes(t *testing.T) {
	cases := []struct {
		name    string
		files   int
		opts    *github.ListOptions
		want    int
		next    int
		lastMsg string
	}{
		{"default 30", 250, nil, 30, 2, ""},
		{"per_page clamped to 100", 250, &github.ListOptions{PerPage: 500}, 100, 2, ""},
		{"beyond the last page", 250, &github.ListOptions{PerPage: 100, Page: 9}, 0, 0, ""},
		{"capped at 3000 files", 3050, &github.ListOptions{PerPage: 100, Page: 30}, 100, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newFake(t)
			manyFiles(s, tc.files)
			files, resp, err := c.PullRequests.ListFiles(ctx, owner, repo, 2, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != tc.want || resp.NextPage != tc.next {
				t.Errorf("got %d files, next %d; want %d, next %d", len(files), resp.NextPage, tc.want, tc.next)
			}
		})
	}
}

func TestListFilesShape(t *testing.T) {
	_, c := newFake(t)
	files, _, err := c.PullRequests.ListFiles(ctx, owner, repo, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].GetPatch() != rolePatch || files[0].GetAdditions() != 3 || files[0].GetDeletions() != 1 {
		t.Errorf("role file = %v", files[0])
	}
	if files[1].Patch != nil {
		t.Errorf("file without patch sent %q", files[1].GetPatch())
	}
}

func comment(path string, line int, side string) *github.DraftReviewComment {
	c := &github.DraftReviewComment{Path: github.String(path), Line: github.Int(line), Body: github.String("finding")}
	if side != "" {
		c.Side = github.String(side)
	}
	return c
}

func TestReviewCommentAnchors(t *testing.T) {
	multi := func(start int, startSide string, line int, side string) *github.DraftReviewComment {
		c := comment("deploy/role.yaml", line, side)
		c.StartLine = github.Int(start)
		if startSide != "" {
			c.StartSide = github.String(startSide)
		}
		return c
	}
	cases := []struct {
		name string
		c    *github.DraftReviewComment
		ok   bool
	}{
		{"added line, default side", comment("deploy/role.yaml", 3, ""), true},
		{"added line RIGHT", comment("deploy/role.yaml", 4, "RIGHT"), true},
		{"context line RIGHT", comment("deploy/role.yaml", 6, "RIGHT"), true},
		{"second hunk added", comment("deploy/role.yaml", 23, "RIGHT"), true},
		{"removed line LEFT", comment("deploy/role.yaml", 3, "LEFT"), true},
		{"context line LEFT, old number", comment("deploy/role.yaml", 20, "LEFT"), true},
		{"context line RIGHT with old number", comment("deploy/role.yaml", 20, "RIGHT"), false},
		{"added line number on LEFT", comment("deploy/role.yaml", 6, "LEFT"), false},
		{"after the hunk", comment("deploy/role.yaml", 7, "RIGHT"), false},
		{"between hunks", comment("deploy/role.yaml", 12, "RIGHT"), false},
		{"line 0", comment("deploy/role.yaml", 0, "RIGHT"), false},
		{"bad side", comment("deploy/role.yaml", 3, "BOTH"), false},
		{"file not in PR", comment("deploy/other.yaml", 1, "RIGHT"), false},
		{"file without patch", comment("logo.png", 1, "RIGHT"), false},
		{"multi-line in one hunk", multi(3, "", 5, "RIGHT"), true},
		{"multi-line LEFT to RIGHT", multi(3, "LEFT", 4, "RIGHT"), true},
		{"multi-line across hunks", multi(5, "", 22, "RIGHT"), false},
		{"start after line", multi(5, "", 3, "RIGHT"), false},
		{"start equals line", multi(3, "", 3, "RIGHT"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newFake(t)
			_, _, err := c.PullRequests.CreateReview(ctx, owner, repo, 1, &github.PullRequestReviewRequest{
				CommitID: github.String(headSHA), Event: github.String("COMMENT"), Comments: []*github.DraftReviewComment{tc.c},
			})
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok && status(t, err) != 422 {
				t.Errorf("status %d, want 422", status(t, err))
			}
			if n := len(s.ReviewComments(owner, repo, 1)); n != map[bool]int{true: 1, false: 0}[tc.ok] {
				t.Errorf("%d comments stored", n)
			}
		})
	}
}

func TestReviewIsAllOrNothing(t *testing.T) {
	s, c := newFake(t)
	_, _, err := c.PullRequests.CreateReview(ctx, owner, repo, 1, &github.PullRequestReviewRequest{
		CommitID: github.String(headSHA), Body: github.String("rbacguard"), Event: github.String("COMMENT"),
		Comments: []*github.DraftReviewComment{comment("deploy/role.yaml", 3, "RIGHT"), comment("deploy/role.yaml", 9, "RIGHT")},
	})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || er.Message != "Unprocessable Entity" ||
		len(er.Errors) != 1 || er.Errors[0].Message != "Line could not be resolved" {
		t.Fatalf("err = %#v", err)
	}
	if len(s.Reviews(owner, repo, 1)) != 0 || len(s.ReviewComments(owner, repo, 1)) != 0 {
		t.Error("a rejected review left state behind")
	}
}

func TestReviewStoredAndListed(t *testing.T) {
	s, c := newFake(t)
	rv, _, err := c.PullRequests.CreateReview(ctx, owner, repo, 1, &github.PullRequestReviewRequest{
		Body: github.String("2 findings"), Event: github.String("COMMENT"),
		Comments: []*github.DraftReviewComment{comment("deploy/role.yaml", 4, ""), comment("deploy/role.yaml", 3, "LEFT")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rv.GetState() != "COMMENTED" || rv.GetCommitID() != headSHA || !strings.Contains(rv.GetHTMLURL(), "#pullrequestreview-") {
		t.Errorf("review = %v", rv)
	}
	listed, _, err := c.PullRequests.ListComments(ctx, owner, repo, 1, nil)
	if err != nil || len(listed) != 2 {
		t.Fatalf("listed %d comments, %v", len(listed), err)
	}
	got := listed[0]
	if got.GetLine() != 4 || got.GetSide() != "RIGHT" || got.GetPosition() != 5 || got.GetUser().GetLogin() != githubtest.ActionsBotLogin ||
		got.GetPullRequestReviewID() != rv.GetID() || !strings.HasSuffix(got.GetDiffHunk(), "+  name: api") {
		t.Errorf("listed comment = %v", got)
	}
	reviews := s.Reviews(owner, repo, 1)
	if len(reviews) != 1 || len(reviews[0].Comments) != 2 || reviews[0].Comments[1].Side != "LEFT" {
		t.Errorf("Reviews = %+v", reviews)
	}
}

func TestReviewRules(t *testing.T) {
	cases := []struct {
		name string
		req  any
		want int
	}{
		{"commit_id not head", &github.PullRequestReviewRequest{CommitID: github.String(baseSHA), Event: github.String("COMMENT"), Body: github.String("b")}, 422},
		{"bad event", &github.PullRequestReviewRequest{Event: github.String("DISMISS"), Body: github.String("b")}, 422},
		{"request changes without body", &github.PullRequestReviewRequest{Event: github.String("REQUEST_CHANGES")}, 422},
		{"comment without body or comments", &github.PullRequestReviewRequest{Event: github.String("COMMENT")}, 422},
		{"position with line", map[string]any{"event": "COMMENT", "comments": []map[string]any{{"path": "deploy/role.yaml", "position": 4, "line": 3, "body": "x"}}}, 422},
		{"position alone", map[string]any{"event": "COMMENT", "comments": []map[string]any{{"path": "deploy/role.yaml", "position": 4, "body": "x"}}}, 200},
		{"position on a hunk header", map[string]any{"event": "COMMENT", "comments": []map[string]any{{"path": "deploy/role.yaml", "position": 8, "body": "x"}}}, 422},
		{"comment body too long", &github.PullRequestReviewRequest{Event: github.String("COMMENT"), Comments: []*github.DraftReviewComment{{Path: github.String("deploy/role.yaml"), Line: github.Int(3), Body: github.String(strings.Repeat("x", 65537))}}}, 422},
		{"approve", &github.PullRequestReviewRequest{Event: github.String("APPROVE")}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFake(t)
			resp, err := raw(t, c, "POST", "repos/acme/deploy/pulls/1/reviews", tc.req)
			if httpStatus(resp) != tc.want {
				t.Errorf("status %d, want %d (%v)", httpStatus(resp), tc.want, err)
			}
		})
	}
}

func TestPendingReview(t *testing.T) {
	s, c := newFake(t)
	req := &github.PullRequestReviewRequest{Comments: []*github.DraftReviewComment{comment("deploy/role.yaml", 3, "")}}
	rv, _, err := c.PullRequests.CreateReview(ctx, owner, repo, 1, req)
	if err != nil || rv.GetState() != "PENDING" {
		t.Fatalf("review %v, %v", rv, err)
	}
	if _, _, err := c.PullRequests.CreateReview(ctx, owner, repo, 1, req); status(t, err) != 422 {
		t.Errorf("second pending review: %v, want 422", err)
	}
	s.AddToken("alice-token", githubtest.AsUser("alice"))
	if listed, _, _ := s.Client("alice-token").PullRequests.ListComments(ctx, owner, repo, 1, nil); len(listed) != 0 {
		t.Errorf("others see %d pending comments", len(listed))
	}
}

func TestSingleCommentReplyEditDelete(t *testing.T) {
	s, c := newFake(t)
	s.AddToken("alice-token", githubtest.AsUser("alice"))
	alice := s.Client("alice-token")

	top, _, err := c.PullRequests.CreateComment(ctx, owner, repo, 1, &github.PullRequestComment{
		CommitID: github.String(headSHA), Path: github.String("deploy/role.yaml"), Line: github.Int(23), Side: github.String("RIGHT"), Body: github.String("new verb"),
	})
	if err != nil {
		t.Fatal(err)
	}
	file, _, err := c.PullRequests.CreateComment(ctx, owner, repo, 1, &github.PullRequestComment{
		CommitID: github.String(headSHA), Path: github.String("logo.png"), SubjectType: github.String("file"), Body: github.String("file-level"),
	})
	if err != nil || file.GetSubjectType() != "file" || file.Line != nil {
		t.Errorf("file-level comment = %v, %v", file, err)
	}
	reply, _, err := alice.PullRequests.CreateCommentInReplyTo(ctx, owner, repo, 1, "accepted", top.GetID())
	if err != nil || reply.GetInReplyTo() != top.GetID() || reply.GetUser().GetLogin() != "alice" || reply.GetLine() != 23 {
		t.Fatalf("reply = %v, %v", reply, err)
	}
	edited, _, err := c.PullRequests.EditComment(ctx, owner, repo, top.GetID(), &github.PullRequestComment{Body: github.String("edited")})
	if err != nil || edited.GetBody() != "edited" {
		t.Errorf("edit = %v, %v", edited, err)
	}
	if _, err := c.PullRequests.DeleteComment(ctx, owner, repo, file.GetID()); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := c.PullRequests.DeleteComment(ctx, owner, repo, file.GetID()); status(t, err) != 404 {
		t.Errorf("second delete: %v, want 404", err)
	}
	var bodies []string
	for _, rc := range s.ReviewComments(owner, repo, 1) {
		bodies = append(bodies, rc.User+": "+rc.Body)
	}
	if diff := cmp.Diff([]string{"github-actions[bot]: edited", "alice: accepted"}, bodies); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}

	bad := []struct {
		name string
		c    *github.PullRequestComment
	}{
		{"position with line", &github.PullRequestComment{CommitID: github.String(headSHA), Path: github.String("deploy/role.yaml"), Position: github.Int(4), Line: github.Int(3), Body: github.String("x")}},
		{"off the diff", &github.PullRequestComment{CommitID: github.String(headSHA), Path: github.String("deploy/role.yaml"), Line: github.Int(10), Body: github.String("x")}},
		{"missing commit_id", &github.PullRequestComment{Path: github.String("deploy/role.yaml"), Line: github.Int(3), Body: github.String("x")}},
		{"old commit_id", &github.PullRequestComment{CommitID: github.String(baseSHA), Path: github.String("deploy/role.yaml"), Line: github.Int(3), Body: github.String("x")}},
		{"blank body", &github.PullRequestComment{CommitID: github.String(headSHA), Path: github.String("deploy/role.yaml"), Line: github.Int(3), Body: github.String(" ")}},
	}
	for _, tc := range bad {
		if _, _, err := c.PullRequests.CreateComment(ctx, owner, repo, 1, tc.c); status(t, err) != 422 {
			t.Errorf("%s: %v, want 422", tc.name, err)
		}
	}
}

func TestIssueComments(t *testing.T) {
	s, c := newFake(t)
	var ids []int64
	for i := range 3 {
		ic, _, err := c.Issues.CreateComment(ctx, owner, repo, 1, &github.IssueComment{Body: github.String(fmt.Sprint("summary ", i))})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ic.GetHTMLURL(), "#issuecomment-") {
			t.Errorf("html_url %q", ic.GetHTMLURL())
		}
		ids = append(ids, ic.GetID())
	}
	page, resp, err := c.Issues.ListComments(ctx, owner, repo, 1, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2, Page: 2}})
	if err != nil || len(page) != 1 || page[0].GetID() != ids[2] || resp.PrevPage != 1 || resp.NextPage != 0 {
		t.Errorf("page 2 = %v, prev %d, %v", page, resp.PrevPage, err)
	}
	if _, _, err := c.Issues.EditComment(ctx, owner, repo, ids[0], &github.IssueComment{Body: github.String("updated")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Issues.CreateComment(ctx, owner, repo, 1, &github.IssueComment{Body: github.String(strings.Repeat("x", 65537))}); status(t, err) != 422 {
		t.Errorf("long body: %v, want 422", err)
	}
	if _, _, err := c.Issues.CreateComment(ctx, owner, repo, 99, &github.IssueComment{Body: github.String("x")}); status(t, err) != 404 {
		t.Errorf("unknown PR: %v, want 404", err)
	}
	got := s.IssueComments(owner, repo, 1)
	if len(got) != 3 || got[0].Body != "updated" || got[0].User != githubtest.ActionsBotLogin {
		t.Errorf("IssueComments = %+v", got)
	}
}
