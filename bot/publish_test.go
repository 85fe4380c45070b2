package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/bot/githubtest"
	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff/report"
)

const (
	owner   = "acme"
	repo    = "platform"
	headSHA = "1111111111111111111111111111111111111111"
	baseSHA = "2222222222222222222222222222222222222222"
	token   = "ghs_workflowtoken000000000000000000000000"
)

// patchRBAC adds lines 3-5 of rbac/role.yaml; line 1-2 and 6 are context.
const patchRBAC = `@@ -1,3 +1,6 @@
 apiVersion: rbac.authorization.k8s.io/v1
 kind: Role
+rules:
+- verbs: ["get"]
+  resources: ["secrets"]
 metadata:`

// bigReport has n findings in rbac/role.yaml: high ones on line 4 (in the
// diff), the rest on lines far outside it.
func bigReport(n int) *report.Report {
	r := &report.Report{Mode: "diff", Base: baseSHA, Head: headSHA, Overlays: []report.Overlay{{Path: ".", Status: report.OverlayRendered}}}
	for i := range n {
		line, sev := 100+i, report.Medium
		if i < 2 {
			line, sev = 4, report.High
		}
		r.Findings = append(r.Findings, report.Finding{
			ID: report.ID(report.RBACIncrease, ".", i), Kind: report.RBACIncrease, Severity: sev, Overlay: ".",
			Subject:    &report.Subject{Kind: "ServiceAccount", Namespace: "shop", Name: fmt.Sprintf("sa-%d", i)},
			Scope:      &report.Scope{Namespace: "shop"},
			Permission: &report.Permission{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}},
			Location:   report.Location{Path: "rbac/role.yaml", Line: line},
			Message:    fmt.Sprintf("ServiceAccount shop/sa-%d can now get secrets in namespace shop", i),
		})
	}
	r.Finish(report.High)
	return r
}

func newFake(t *testing.T, opts ...githubtest.TokenOption) *githubtest.Server {
	t.Helper()
	gh := githubtest.NewServer(t)
	gh.AddToken(token, opts...)
	gh.AddPullRequest(owner, repo, githubtest.PullRequest{
		Number: 7, BaseSHA: baseSHA, HeadSHA: headSHA, BaseRef: "main", HeadRef: "feature",
		Files: []githubtest.File{{Filename: "rbac/role.yaml", Patch: patchRBAC}},
	})
	return gh
}

func target() Target {
	return Target{Owner: owner, Repo: repo, HeadSHA: headSHA, PR: 7, CheckName: "rbacguard"}
}

func TestPublisher_PublishAndRerun(t *testing.T) {
	gh := newFake(t)
	p := &Publisher{Client: gh.Client(token), Login: githubtest.ActionsBotLogin}
	ctx := context.Background()
	r := bigReport(120)
	patches := map[string]string{"rbac/role.yaml": patchRBAC}

	publish := func() Result {
		t.Helper()
		id, err := p.Start(ctx, target())
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		res, err := p.Publish(ctx, target(), id, r, patches, PublishOptions{})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		return res
	}
	res := publish()
	if res.Conclusion != "failure" || res.CommentsCreated != 1 || res.Fallback {
		t.Errorf("first result %+v, want failure, 1 comment, no fallback", res)
	}
	runs := gh.CheckRuns(owner, repo)
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	cr := runs[0]
	if d := cmp.Diff([]string{"in_progress", "completed"}, cr.StatusHistory); d != "" {
		t.Errorf("status history (-want +got):\n%s", d)
	}
	if cr.Conclusion != "failure" || len(cr.Annotations) != 120 || cr.Title == "" || cr.Summary == "" {
		t.Errorf("run: conclusion %q, %d annotations, title %q", cr.Conclusion, len(cr.Annotations), cr.Title)
	}
	// 120 annotations: one completing update and two more, each ≤ 50.
	var sizes []int
	for _, rq := range gh.Requests() {
		if rq.Method != "PATCH" {
			continue
		}
		var body struct {
			Name   string `json:"name"`
			Output *struct {
				Annotations []json.RawMessage `json:"annotations"`
			} `json:"output"`
		}
		if err := json.Unmarshal(rq.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Name != "rbacguard" {
			t.Errorf("PATCH without the name: %s", rq.Body)
		}
		if body.Output != nil {
			sizes = append(sizes, len(body.Output.Annotations))
		}
	}
	if d := cmp.Diff([]int{50, 50, 20}, sizes); d != "" {
		t.Errorf("annotation batches (-want +got):\n%s", d)
	}
	comments := gh.ReviewComments(owner, repo, 7)
	if len(comments) != 1 || comments[0].Line != 4 || comments[0].Side != "RIGHT" {
		t.Fatalf("comments %+v, want one on line 4, RIGHT", comments)
	}
	for _, rq := range gh.Requests() {
		if strings.HasSuffix(rq.Path, "/reviews") && strings.Contains(string(rq.Body), `"position"`) {
			t.Errorf("review sent a position: %s", rq.Body)
		}
	}
	reviews := gh.Reviews(owner, repo, 7)
	if len(reviews) != 1 || reviews[0].State != "COMMENTED" || !strings.Contains(reviews[0].Body, "118 more findings are not on a changed line") {
		t.Errorf("reviews %+v", reviews)
	}

	// Same head again: nothing new anywhere.
	before := len(gh.Requests())
	res = publish()
	if res.CommentsCreated+res.CommentsUpdated+res.CommentsResolved != 0 {
		t.Errorf("second result %+v, want no comment change", res)
	}
	runs = gh.CheckRuns(owner, repo)
	if len(runs) != 1 || len(runs[0].Annotations) != 120 || runs[0].Conclusion != "failure" {
		t.Errorf("after re-run: %d runs, %d annotations", len(runs), len(runs[0].Annotations))
	}
	if n := len(gh.ReviewComments(owner, repo, 7)); n != 1 {
		t.Errorf("%d comments after re-run, want 1", n)
	}
	for _, rq := range gh.Requests()[before:] {
		if rq.Method == "POST" {
			t.Errorf("re-run posted %s", rq.Path)
		}
	}

	// The findings go away: the comment is resolved, the run passes.
	fixed := &report.Report{Mode: "diff", Base: baseSHA, Head: headSHA}
	fixed.Finish(report.High)
	id, err := p.Start(ctx, target())
	if err != nil {
		t.Fatal(err)
	}
	res, err = p.Publish(ctx, target(), id, fixed, patches, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.CommentsResolved != 1 || res.Conclusion != "success" {
		t.Errorf("fixed result %+v, want 1 resolved, success", res)
	}
	if c := gh.ReviewComments(owner, repo, 7)[0]; !strings.HasPrefix(c.Body, "~~") {
		t.Errorf("resolved comment body %q", c.Body)
	}
}

func TestPublisher_StartResetsInProgressRun(t *testing.T) {
	gh := newFake(t)
	p := &Publisher{Client: gh.Client(token)}
	ctx := context.Background()
	id1, err := p.Start(ctx, target())
	if err != nil {
		t.Fatal(err)
	}
	id2, err := p.Start(ctx, target()) // e.g. a re-run before the first finished
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 || len(gh.CheckRuns(owner, repo)) != 1 {
		t.Errorf("ids %d, %d and %d runs: want one run reused", id1, id2, len(gh.CheckRuns(owner, repo)))
	}
	other := target()
	other.CheckName = "rbacguard-staging"
	if id3, err := p.Start(ctx, other); err != nil || id3 == id1 {
		t.Errorf("another name: id %d err %v, want a new run", id3, err)
	}
}

func TestPublisher_CommentModes(t *testing.T) {
	for _, tc := range []struct {
		mode        string
		annotations int
		comments    int
	}{
		{"review", 3, 1},
		{"annotations", 3, 0},
		{"off", 0, 0},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			gh := newFake(t)
			p := &Publisher{Client: gh.Client(token)}
			id, err := p.Start(context.Background(), target())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Publish(context.Background(), target(), id, bigReport(3), map[string]string{"rbac/role.yaml": patchRBAC}, PublishOptions{CommentMode: tc.mode}); err != nil {
				t.Fatal(err)
			}
			if n := len(gh.CheckRuns(owner, repo)[0].Annotations); n != tc.annotations {
				t.Errorf("%d annotations, want %d", n, tc.annotations)
			}
			if n := len(gh.ReviewComments(owner, repo, 7)); n != tc.comments {
				t.Errorf("%d comments, want %d", n, tc.comments)
			}
		})
	}
	if _, err := (&Publisher{}).Publish(context.Background(), target(), 1, bigReport(1), nil, PublishOptions{CommentMode: "loud"}); err == nil {
		t.Error("unknown comment mode accepted")
	}
}

func TestPublisher_ReviewRejectedFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		denied bool
	}{
		{"422", 422, false},
		{"403 permission", 404, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := newFake(t)
			p := &Publisher{Client: gh.Client(token)}
			id, err := p.Start(context.Background(), target())
			if err != nil {
				t.Fatal(err)
			}
			gh.FailNext("POST", "/repos/acme/platform/pulls/7/reviews", tc.status, 1)
			res, err := p.Publish(context.Background(), target(), id, bigReport(3), map[string]string{"rbac/role.yaml": patchRBAC}, PublishOptions{})
			if err != nil {
				t.Fatalf("Publish failed the run: %v", err)
			}
			if !res.Fallback || res.PermissionDenied != tc.denied || res.CommentsCreated != 0 {
				t.Errorf("result %+v, want fallback (denied %v)", res, tc.denied)
			}
			cr := gh.CheckRuns(owner, repo)[0]
			if cr.Conclusion != "failure" || len(cr.Annotations) != 3 || !strings.Contains(cr.Summary, "Review comments could not be posted") {
				t.Errorf("run %q with %d annotations, summary %.120q", cr.Conclusion, len(cr.Annotations), cr.Summary)
			}
		})
	}
}

func TestPublisher_OffDiffCommentsNeverSent(t *testing.T) {
	gh := newFake(t)
	p := &Publisher{Client: gh.Client(token)}
	id, _ := p.Start(context.Background(), target())
	// The patch GitHub has lacks the file: nothing is commentable.
	res, err := p.Publish(context.Background(), target(), id, bigReport(3), map[string]string{"other.yaml": ""}, PublishOptions{})
	if err != nil || res.Fallback || res.CommentsCreated != 0 {
		t.Fatalf("res %+v err %v", res, err)
	}
	for _, rq := range gh.Requests() {
		if strings.HasSuffix(rq.Path, "/reviews") || rq.Status == 422 {
			t.Errorf("unexpected %s %s → %d", rq.Method, rq.Path, rq.Status)
		}
	}
}

func TestPublisher_ReadOnlyToken(t *testing.T) {
	gh := newFake(t, githubtest.ReadOnly())
	p := &Publisher{Client: gh.Client(token)}
	_, err := p.Start(context.Background(), target())
	if !IsPermissionError(err) {
		t.Fatalf("Start err = %v, want a permission error", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Error("error shows the token")
	}
}

// A run that ends without a verdict never concludes neutral (which passes
// a required check): failure, timed_out or cancelled, titled with the
// reason, with what to do, never with a token.
func TestPublisher_Fail(t *testing.T) {
	tests := []struct {
		name          string
		cause         error
		conclusion    string
		title, advice string
	}{
		{"error", fmt.Errorf("git fetch https://x-access-token:%s@github.com/acme/platform: boom", token), "failure",
			"rbacguard could not decide: git fetch https://[redacted]@github.com/acme/platform: boom", "Re-run the check"},
		{"time limit", fmt.Errorf("compare: %w", context.DeadlineExceeded), "timed_out",
			"rbacguard timed out: compare: context deadline exceeded", "raise the time limit"},
		{"cancelled", undecided{"cancelled", "superseded by abc1234", "Nothing to do."}, "cancelled",
			"rbacguard was cancelled: superseded by abc1234", "Nothing to do."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gh := newFake(t)
			p := &Publisher{Client: gh.Client(token)}
			id, _ := p.Start(context.Background(), target())
			if err := p.Fail(context.Background(), target(), id, tc.cause); err != nil {
				t.Fatal(err)
			}
			cr := gh.CheckRuns(owner, repo)[0]
			if cr.Status != "completed" || cr.Conclusion != tc.conclusion {
				t.Errorf("run %s/%s, want completed/%s", cr.Status, cr.Conclusion, tc.conclusion)
			}
			if cr.Title != tc.title {
				t.Errorf("title %q, want %q", cr.Title, tc.title)
			}
			if !strings.Contains(cr.Summary, "**What to do:** ") || !strings.Contains(cr.Summary, tc.advice) {
				t.Errorf("summary lacks the advice %q:\n%s", tc.advice, cr.Summary)
			}
			if strings.Contains(cr.Summary, token) || strings.Contains(cr.Title, token) {
				t.Error("summary shows the token")
			}
			if err := p.Fail(context.Background(), target(), 0, tc.cause); err == nil {
				t.Error("Fail without a run succeeded")
			}
		})
	}
}

type undecided struct{ conclusion, msg, advice string }

func (u undecided) Error() string      { return u.msg }
func (u undecided) Conclusion() string { return u.conclusion }
func (u undecided) Advice() string     { return u.advice }

func TestPullRequestFiles_Paginates(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddToken(token)
	var files []githubtest.File
	want := map[string]string{}
	for i := range 230 {
		f := githubtest.File{Filename: fmt.Sprintf("f%03d.yaml", i)}
		if i%2 == 0 {
			f.Patch = "@@ -0,0 +1 @@\n+a: 1"
		}
		files = append(files, f)
		want[f.Filename] = f.Patch
	}
	gh.AddPullRequest(owner, repo, githubtest.PullRequest{Number: 9, BaseSHA: baseSHA, HeadSHA: headSHA, Files: files})
	got, err := PullRequestFiles(context.Background(), gh.Client(token), owner, repo, 9)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	pages := 0
	for _, rq := range gh.Requests() {
		if strings.HasSuffix(rq.Path, "/files") {
			pages++
			if rq.Query.Get("per_page") != "100" {
				t.Errorf("per_page %q", rq.Query.Get("per_page"))
			}
		}
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
}

func TestWithNote(t *testing.T) {
	got := withNote(strings.Repeat("é", 100), "NOTE", 50)
	if len(got) > 50 || !strings.HasPrefix(got, "NOTE\n\n") || strings.Contains(got, "\uFFFD") {
		t.Errorf("withNote = %q (%d bytes)", got, len(got))
	}
	_ = checks.DefaultLimits
}

// Duplicates of a comment whose finding still applies (left by a review
// POST that was sent twice before this fix) are never struck through as
// "no longer applies" on the next run; a comment whose finding is gone
// still is.
func TestPublisher_DuplicatesOfLiveFindingsNotResolved(t *testing.T) {
	gh := newFake(t)
	p := &Publisher{Client: gh.Client(token), Login: githubtest.ActionsBotLogin}
	ctx := context.Background()
	r := bigReport(2) // two findings on line 4: one comment
	patches := map[string]string{"rbac/role.yaml": patchRBAC}
	id, err := p.Start(ctx, target())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, target(), id, r, patches, PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	first := gh.ReviewComments(owner, repo, 7)
	if len(first) != 1 {
		t.Fatalf("%d comments, want 1", len(first))
	}
	// The duplicate a blind retry made, and a comment for a finding that
	// no longer exists.
	c := gh.Client(token)
	for _, body := range []string{first[0].Body, "gone\n\n" + checks.Marker([]string{"0000000000000000"})} {
		if _, _, err := c.PullRequests.CreateComment(ctx, owner, repo, 7, &github.PullRequestComment{
			Body: github.String(body), Path: github.String("rbac/role.yaml"), Line: github.Int(4), Side: github.String("RIGHT"), CommitID: github.String(headSHA),
		}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := p.Publish(ctx, target(), id, r, patches, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.CommentsResolved != 1 {
		t.Errorf("resolved %d comments, want 1 (the gone finding's)", res.CommentsResolved)
	}
	for _, cm := range gh.ReviewComments(owner, repo, 7) {
		struck := strings.Contains(cm.Body, "no longer applies")
		if gone := strings.HasPrefix(cm.Body, "gone") || strings.HasPrefix(cm.Body, "~~gone"); struck != gone {
			t.Errorf("comment %d struck through = %v:\n%s", cm.ID, struck, cm.Body)
		}
	}
}
