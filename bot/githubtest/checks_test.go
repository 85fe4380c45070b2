package githubtest_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"
	"github.com/rbacguard/rbacguard/bot/githubtest"
)

func annotations(n, offset int) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	for i := range n {
		out = append(out, &github.CheckRunAnnotation{
			Path: github.String("deploy/role.yaml"), StartLine: github.Int(offset + i + 1), EndLine: github.Int(offset + i + 1),
			AnnotationLevel: github.String("warning"), Message: github.String(fmt.Sprintf("finding %d", offset+i)),
		})
	}
	return out
}

func create(t *testing.T, c *github.Client, opts github.CreateCheckRunOptions) *github.CheckRun {
	t.Helper()
	cr, _, err := c.Checks.CreateCheckRun(ctx, owner, repo, opts)
	if err != nil {
		t.Fatalf("create check run: %v", err)
	}
	return cr
}

func TestCheckRunLifecycle(t *testing.T) {
	s, c := newFake(t)
	cr := create(t, c, github.CreateCheckRunOptions{Name: "rbacguard", HeadSHA: headSHA, ExternalID: github.String("pr-1")})
	if cr.GetStatus() != "queued" || cr.GetID() <= 1<<32 || cr.GetApp().GetID() != githubtest.ActionsAppID {
		t.Fatalf("created run: status %q id %d app %d", cr.GetStatus(), cr.GetID(), cr.GetApp().GetID())
	}
	if _, _, err := c.Checks.UpdateCheckRun(ctx, owner, repo, cr.GetID(), github.UpdateCheckRunOptions{Name: "rbacguard", Status: github.String("in_progress")}); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.Checks.UpdateCheckRun(ctx, owner, repo, cr.GetID(), github.UpdateCheckRunOptions{
		Name: "rbacguard", Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("1 increase"), Summary: github.String("sum"), Text: github.String("details")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetStatus() != "completed" || got.GetConclusion() != "failure" || got.CompletedAt == nil || !strings.HasPrefix(got.GetHTMLURL(), "https://github.com/acme/deploy/runs/") {
		t.Errorf("completed run = %v", got)
	}
	fetched, _, err := c.Checks.GetCheckRun(ctx, owner, repo, cr.GetID())
	if err != nil || fetched.GetOutput().GetText() != "details" {
		t.Errorf("GetCheckRun = %v, %v", fetched, err)
	}
	runs := s.CheckRuns(owner, repo)
	if len(runs) != 1 {
		t.Fatalf("%d runs stored", len(runs))
	}
	want := githubtest.CheckRun{ID: cr.GetID(), Name: "rbacguard", HeadSHA: headSHA, ExternalID: "pr-1", AppID: githubtest.ActionsAppID,
		Status: "completed", Conclusion: "failure", Title: "1 increase", Summary: "sum", Text: "details",
		StatusHistory: []string{"queued", "in_progress", "completed"}, Updates: 2}
	r := runs[0]
	r.StartedAt, r.CompletedAt = want.StartedAt, want.CompletedAt
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("stored run (-want +got):\n%s", diff)
	}
}

func TestCheckRunCreateValidation(t *testing.T) {
	long := strings.Repeat("x", 65536)
	ann := func(mod func(a *github.CheckRunAnnotation)) *github.CheckRunOutput {
		a := annotations(1, 0)[0]
		mod(a)
		return &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: []*github.CheckRunAnnotation{a}}
	}
	cases := []struct {
		name    string
		opts    github.CreateCheckRunOptions
		message string // substring; "" = any
	}{
		{"missing name", github.CreateCheckRunOptions{HeadSHA: headSHA}, `"name" wasn't supplied`},
		{"missing head_sha", github.CreateCheckRunOptions{Name: "x"}, `"head_sha" wasn't supplied`},
		{"bad status", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Status: github.String("waiting")}, "not a member"},
		{"bad conclusion", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Conclusion: github.String("stale")}, "conclusion"},
		{"completed without conclusion", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Status: github.String("completed")}, `"conclusion" wasn't supplied`},
		{"completed_at without conclusion", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, CompletedAt: &github.Timestamp{}}, `"conclusion" wasn't supplied`},
		{"output without title", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: &github.CheckRunOutput{Summary: github.String("s")}}, `"title"`},
		{"output without summary", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: &github.CheckRunOutput{Title: github.String("t")}}, `"summary"`},
		{"summary 65536", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: &long}}, "Only 65535 characters are allowed; 65536 were supplied."},
		{"text 65536", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Text: &long}}, "Only 65535 characters are allowed; 65536 were supplied."},
		{"51 annotations", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(51, 0)}}, "Only 50 annotations"},
		{"annotation without path", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: ann(func(a *github.CheckRunAnnotation) { a.Path = nil })}, `"path"`},
		{"annotation start_line 0", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: ann(func(a *github.CheckRunAnnotation) { a.StartLine = github.Int(0) })}, "start_line"},
		{"annotation without end_line", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: ann(func(a *github.CheckRunAnnotation) { a.EndLine = nil })}, "end_line"},
		{"annotation level error", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: ann(func(a *github.CheckRunAnnotation) { a.AnnotationLevel = github.String("error") })}, "annotation_level"},
		{"annotation without message", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: ann(func(a *github.CheckRunAnnotation) { a.Message = nil })}, `"message"`},
		{"columns on multi-line", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: ann(func(a *github.CheckRunAnnotation) { a.EndLine = github.Int(3); a.StartColumn = github.Int(1) })}, "start_column"},
		{"four actions", github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Actions: []*github.CheckRunAction{{Label: "a", Description: "d", Identifier: "1"}, {Label: "b", Description: "d", Identifier: "2"}, {Label: "c", Description: "d", Identifier: "3"}, {Label: "e", Description: "d", Identifier: "4"}}}, "actions"},
	}
	s, c := newFake(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.Checks.CreateCheckRun(ctx, owner, repo, tc.opts)
			if got := status(t, err); got != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422 (err %v)", got, err)
			}
			var er *github.ErrorResponse
			if errors.As(err, &er) && !strings.Contains(er.Message, tc.message) {
				t.Errorf("message %q, want it to contain %q", er.Message, tc.message)
			}
		})
	}
	if n := len(s.CheckRuns(owner, repo)); n != 0 {
		t.Errorf("%d runs stored after rejected creates", n)
	}
	// The limits are inclusive.
	max := strings.Repeat("x", 65535)
	create(t, c, github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Output: &github.CheckRunOutput{
		Title: github.String("t"), Summary: &max, Text: &max, Annotations: annotations(50, 0)}})
}

func TestAnnotationsAppendAcrossUpdates(t *testing.T) {
	s, c := newFake(t)
	cr := create(t, c, github.CreateCheckRunOptions{Name: "rbacguard", HeadSHA: headSHA, Status: github.String("in_progress")})
	for i := range 2 {
		_, _, err := c.Checks.UpdateCheckRun(ctx, owner, repo, cr.GetID(), github.UpdateCheckRunOptions{
			Name:   "rbacguard",
			Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(50, i*50)},
		})
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	runs := s.CheckRuns(owner, repo)
	if n := len(runs[0].Annotations); n != 100 {
		t.Fatalf("%d annotations stored, want 100", n)
	}
	if runs[0].Annotations[99].Message != "finding 99" {
		t.Errorf("last annotation = %+v", runs[0].Annotations[99])
	}
	got, resp, err := c.Checks.ListCheckRunAnnotations(ctx, owner, repo, cr.GetID(), &github.ListOptions{PerPage: 100})
	if err != nil || len(got) != 100 || resp.NextPage != 0 {
		t.Errorf("list annotations: %d, next %d, %v", len(got), resp.NextPage, err)
	}
	fetched, _, _ := c.Checks.GetCheckRun(ctx, owner, repo, cr.GetID())
	if fetched.GetOutput().GetAnnotationsCount() != 100 {
		t.Errorf("annotations_count = %d", fetched.GetOutput().GetAnnotationsCount())
	}
}

func TestCheckRunUpdateRules(t *testing.T) {
	cases := []struct {
		name   string
		opts   github.UpdateCheckRunOptions
		status int
		want   string // resulting status when accepted
	}{
		{"name omitted is blank", github.UpdateCheckRunOptions{Status: github.String("in_progress")}, 422, ""},
		{"conclusion forces completed", github.UpdateCheckRunOptions{Name: "n", Status: github.String("in_progress"), Conclusion: github.String("success")}, 0, "completed"},
		{"rename", github.UpdateCheckRunOptions{Name: "other"}, 0, "queued"},
		{"completed needs conclusion", github.UpdateCheckRunOptions{Name: "n", Status: github.String("completed")}, 422, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFake(t)
			cr := create(t, c, github.CreateCheckRunOptions{Name: "n", HeadSHA: headSHA})
			got, _, err := c.Checks.UpdateCheckRun(ctx, owner, repo, cr.GetID(), tc.opts)
			if s := status(t, err); s != tc.status {
				t.Fatalf("status %d, want %d (%v)", s, tc.status, err)
			}
			if err == nil && got.GetStatus() != tc.want {
				t.Errorf("status %q, want %q", got.GetStatus(), tc.want)
			}
		})
	}
}

func TestCompletedRunCannotReopen(t *testing.T) {
	s, c := newFake(t)
	cr := create(t, c, github.CreateCheckRunOptions{Name: "n", HeadSHA: headSHA, Conclusion: github.String("success")})
	for _, st := range []string{"in_progress", "queued"} {
		_, _, err := c.Checks.UpdateCheckRun(ctx, owner, repo, cr.GetID(), github.UpdateCheckRunOptions{Name: "n", Status: github.String(st)})
		if status(t, err) != 422 {
			t.Errorf("completed -> %s: %v, want 422", st, err)
		}
	}
	if h := s.CheckRuns(owner, repo)[0].StatusHistory; !cmp.Equal(h, []string{"completed"}) {
		t.Errorf("history %v", h)
	}
}

func TestCheckWritesNeedTheCreatingApp(t *testing.T) {
	s, c := newFake(t)
	s.AddToken("pat", githubtest.AsUser("alice"))
	pat := s.Client("pat")
	if _, _, err := pat.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "n", HeadSHA: headSHA}); status(t, err) != 403 {
		t.Errorf("user token create: %v, want 403", err)
	}
	cr := create(t, c, github.CreateCheckRunOptions{Name: "n", HeadSHA: headSHA})
	app := installationClient(t, s)
	if _, _, err := app.Checks.UpdateCheckRun(ctx, owner, repo, cr.GetID(), github.UpdateCheckRunOptions{Name: "n"}); status(t, err) != 403 {
		t.Errorf("other App update: %v, want 403", err)
	}
	if _, _, err := pat.Checks.GetCheckRun(ctx, owner, repo, cr.GetID()); err != nil {
		t.Errorf("user token read: %v", err)
	}
}

func TestListCheckRunsForRef(t *testing.T) {
	s, c := newFake(t)
	app := installationClient(t, s)
	first := create(t, c, github.CreateCheckRunOptions{Name: "rbacguard", HeadSHA: headSHA})
	second := create(t, c, github.CreateCheckRunOptions{Name: "rbacguard", HeadSHA: headSHA})
	create(t, c, github.CreateCheckRunOptions{Name: "lint", HeadSHA: headSHA})
	create(t, c, github.CreateCheckRunOptions{Name: "rbacguard", HeadSHA: baseSHA})
	appRun := create(t, app, github.CreateCheckRunOptions{Name: "rbacguard", HeadSHA: headSHA})

	ids := func(opts *github.ListCheckRunsOptions, ref string) []int64 {
		t.Helper()
		res, _, err := c.Checks.ListCheckRunsForRef(ctx, owner, repo, ref, opts)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range res.CheckRuns {
			out = append(out, r.GetID())
		}
		if res.GetTotal() < len(out) {
			t.Errorf("total %d < %d listed", res.GetTotal(), len(out))
		}
		return out
	}
	name := github.String("rbacguard")
	cases := []struct {
		name string
		ref  string
		opts *github.ListCheckRunsOptions
		want []int64
	}{
		{"latest per name and app", headSHA, &github.ListCheckRunsOptions{CheckName: name}, []int64{appRun.GetID(), second.GetID()}},
		{"all", headSHA, &github.ListCheckRunsOptions{CheckName: name, Filter: github.String("all")}, []int64{appRun.GetID(), second.GetID(), first.GetID()}},
		{"by app", headSHA, &github.ListCheckRunsOptions{CheckName: name, AppID: github.Int64(githubtest.ActionsAppID)}, []int64{second.GetID()}},
		{"branch name", "feature", &github.ListCheckRunsOptions{CheckName: name, AppID: github.Int64(appID)}, []int64{appRun.GetID()}},
		{"paginated", headSHA, &github.ListCheckRunsOptions{Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 2, Page: 2}}, []int64{second.GetID(), first.GetID()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ids(tc.opts, tc.ref)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrentRequests(t *testing.T) {
	s, c := newFake(t)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, _, err := c.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: fmt.Sprint("n", i), HeadSHA: headSHA}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(s.CheckRuns(owner, repo)); n != 40 {
		t.Errorf("%d runs", n)
	}
	if n := len(s.Requests()); n != 40 {
		t.Errorf("%d requests logged", n)
	}
}
