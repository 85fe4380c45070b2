package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/bot/githubtest"
	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff/report"
)

const (
	ghOwner   = "acme"
	ghRepo    = "platform"
	ghToken   = "ghs_e2eworkflowtoken0000000000000000000"
	mergeSHA  = "ffffffffffffffffffffffffffffffffffffffff" // GITHUB_SHA on pull_request: must not be used
	prNumber  = 7
	checkName = "rbacguard"
)

// gitRepo is a repository with main = base + an unrelated commit, and a
// feature branch = base + the example's head tree.
type gitRepo struct {
	env                 []string
	path                string
	base, mainTip, head string
}

func git(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=rbacguard test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main", "-C", dir}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// copyTree replaces everything but .git in dst with the files of src.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	entries, _ := os.ReadDir(dst)
	for _, e := range entries {
		if e.Name() != ".git" {
			os.RemoveAll(filepath.Join(dst, e.Name()))
		}
	}
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	return newGitRepoWith(t, nil)
}

// newGitRepoWith is newGitRepo with files (path → content) added to both
// branches.
func newGitRepoWith(t *testing.T, files map[string]string) *gitRepo {
	t.Helper()
	dir, env := initRepo(t)
	copyTree(t, "../../testdata/example/base", dir)
	addWorkflow(t, dir, files)
	git(t, dir, env, "add", "-A")
	git(t, dir, env, "commit", "-q", "-m", "base")
	r := &gitRepo{path: dir, env: env, base: git(t, dir, env, "rev-parse", "HEAD")}
	git(t, dir, env, "checkout", "-q", "-b", "feature")
	copyTree(t, "../../testdata/example/head", dir)
	addWorkflow(t, dir, files)
	git(t, dir, env, "add", "-A")
	git(t, dir, env, "commit", "-q", "-m", "head")
	r.head = git(t, dir, env, "rev-parse", "HEAD")
	// main moves on: the merge base, not main's tip, is the base.
	git(t, dir, env, "checkout", "-q", "main")
	if err := os.WriteFile(filepath.Join(dir, "NOTES.md"), []byte("unrelated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, env, "add", "-A")
	git(t, dir, env, "commit", "-q", "-m", "main moves on")
	r.mainTip = git(t, dir, env, "rev-parse", "HEAD")
	return r
}

// initRepo creates an empty repository and the environment git runs in
// for it: no machine configuration, fixed dates.
func initRepo(t *testing.T) (dir string, env []string) {
	t.Helper()
	env = append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_DATE=2026-11-20T10:00:00Z", "GIT_COMMITTER_DATE=2026-11-20T10:00:00Z")
	dir = t.TempDir()
	git(t, dir, env, "init", "-q")
	return dir, env
}

// workflowPath is the workflow that runs the Action in the tests.
const workflowPath = ".github/workflows/rbacguard.yml"

// addWorkflow writes testdata/action/workflow.yml as the repository's
// workflow, the same on main and on the feature branch, then files.
func addWorkflow(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	data, err := os.ReadFile("../../testdata/action/workflow.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, workflowPath, string(data))
	for rel, content := range files {
		writeFile(t, dir, rel, content)
	}
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pushHead adds a commit writing files (path → content) to the feature
// branch: the pull request's new head.
func (r *gitRepo) pushHead(t *testing.T, files map[string]string) {
	t.Helper()
	git(t, r.path, r.env, "checkout", "-q", "feature")
	for rel, content := range files {
		writeFile(t, r.path, rel, content)
	}
	git(t, r.path, r.env, "add", "-A")
	git(t, r.path, r.env, "commit", "-q", "-m", "pull request edits")
	r.head = git(t, r.path, r.env, "rev-parse", "HEAD")
	git(t, r.path, r.env, "checkout", "-q", "main")
}

// patches are the pull request's files as GitHub's files API shows them:
// the three-dot diff per file, headers stripped down to the hunks.
func (r *gitRepo) patches(t *testing.T) ([]githubtest.File, map[string]string) {
	t.Helper()
	var files []githubtest.File
	byPath := map[string]string{}
	for _, p := range strings.Split(git(t, r.path, r.env, "diff", "--name-only", r.base, r.head), "\n") {
		d := git(t, r.path, r.env, "diff", "--no-color", "--no-ext-diff", r.base, r.head, "--", p)
		i := strings.Index(d, "@@")
		if i < 0 {
			t.Fatalf("no hunk for %s", p)
		}
		files = append(files, githubtest.File{Filename: p, Patch: d[i:]})
		byPath[p] = d[i:]
	}
	return files, byPath
}

// event writes a fixture with the commits of r.
func (r *gitRepo) event(t *testing.T, fixture string) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/action/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	if pr, ok := ev["pull_request"].(map[string]any); ok {
		pr["base"].(map[string]any)["sha"] = r.mainTip
		pr["head"].(map[string]any)["sha"] = r.head
	}
	out, _ := json.Marshal(ev)
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type actionRun struct {
	env            map[string]string
	summary, out   string
	stdout, stderr bytes.Buffer
}

func newActionRun(t *testing.T, gh *githubtest.Server, workspace, eventName, eventPath, sha string) *actionRun {
	tmp := t.TempDir()
	return &actionRun{
		summary: filepath.Join(tmp, "summary.md"),
		out:     filepath.Join(tmp, "output"),
		env: map[string]string{
			"GITHUB_EVENT_NAME": eventName, "GITHUB_EVENT_PATH": eventPath,
			"GITHUB_REPOSITORY": ghOwner + "/" + ghRepo, "GITHUB_SHA": sha,
			"GITHUB_STEP_SUMMARY": filepath.Join(tmp, "summary.md"), "GITHUB_OUTPUT": filepath.Join(tmp, "output"),
			"GITHUB_API_URL": gh.URL(), "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "4242",
			"GITHUB_WORKSPACE": workspace, "RUNNER_TEMP": tmp,
			"INPUT_GITHUB-TOKEN": ghToken, "INPUT_COMMENT-MODE": "review", "INPUT_CHECK-NAME": checkName,
			// The step of testdata/action/workflow.yml, as the runner names it
			// inside the composite action; the workflow is read from the
			// merge commit, which the checkout lacks.
			"GITHUB_WORKFLOW_REF": ghOwner + "/" + ghRepo + "/" + workflowPath + "@refs/pull/7/merge",
			"GITHUB_WORKFLOW_SHA": sha, "GITHUB_JOB": "rbac-diff", "GITHUB_ACTION": "rbacguard.run",
			"GITHUB_ACTION_PATH": "/home/runner/work/_actions/rbacguard/rbacguard/v1",
		},
	}
}

func (a *actionRun) run(t *testing.T) int {
	t.Helper()
	a.stdout.Reset()
	a.stderr.Reset()
	code := run(context.Background(), []string{"action"}, strings.NewReader(""), &a.stdout, &a.stderr, func(k string) string { return a.env[k] })
	if strings.Contains(a.stdout.String()+a.stderr.String(), ghToken) {
		t.Error("the token was printed")
	}
	return code
}

func (a *actionRun) outputs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(a.out)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, delim, ok := strings.Cut(sc.Text(), "<<")
		if !ok {
			t.Fatalf("output line %q is not the heredoc form", sc.Text())
		}
		var val []string
		for sc.Scan() && sc.Text() != delim {
			val = append(val, sc.Text())
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func increases(r *report.Report) int {
	n := 0
	for _, f := range r.Findings {
		if checks.IsIncrease(f.Kind) && f.Exemption == nil {
			n++
		}
	}
	return n
}

type call struct{ Method, Path string }

func calls(reqs []githubtest.Request) []call {
	var out []call
	for _, r := range reqs {
		out = append(out, call{r.Method, r.Path})
	}
	return out
}

// TestAction_PullRequest is issue 5 item 9: the Action on a pull request,
// end to end against the fake GitHub, then again on the same head.
func TestAction_PullRequest(t *testing.T) {
	repo := newGitRepo(t)
	files, patches := repo.patches(t)
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken)
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: repo.mainTip, HeadSHA: repo.head, BaseRef: "main", HeadRef: "feature", Files: files})
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)

	if code := a.run(t); code != 1 {
		t.Fatalf("exit %d, want 1\nstderr: %s", code, a.stderr.String())
	}
	prefix := "/repos/acme/platform/"
	runs := gh.CheckRuns(ghOwner, ghRepo)
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	cr := runs[0]
	runPath := prefix + "check-runs/" + itoa(cr.ID)
	patchCalls := 1 + (len(cr.Annotations)-1)/50
	want := []call{
		{"GET", prefix + "commits/" + repo.head + "/check-runs"},
		{"POST", prefix + "check-runs"},
		{"GET", prefix + "pulls/7/files"},
		{"GET", prefix + "pulls/7/comments"},
		{"POST", prefix + "pulls/7/reviews"},
		{"GET", runPath + "/annotations"},
	}
	for range patchCalls {
		want = append(want, call{"PATCH", runPath})
	}
	reqs := gh.Requests()
	if d := cmp.Diff(want, calls(reqs)); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	for _, r := range reqs {
		if r.Status >= 300 {
			t.Errorf("%s %s answered %d: %s", r.Method, r.Path, r.Status, r.Body)
		}
		var body struct {
			HeadSHA string `json:"head_sha"`
			Status  string `json:"status"`
			Output  *struct {
				Annotations []json.RawMessage `json:"annotations"`
			} `json:"output"`
		}
		_ = json.Unmarshal(r.Body, &body)
		if r.Method == "POST" && strings.HasSuffix(r.Path, "check-runs") && (body.Status != "in_progress" || body.HeadSHA != repo.head) {
			t.Errorf("check run created with status %q on %s, want in_progress on the PR head", body.Status, body.HeadSHA)
		}
		if body.Output != nil && len(body.Output.Annotations) > 50 {
			t.Errorf("%d annotations in one request", len(body.Output.Annotations))
		}
	}
	if cr.HeadSHA != repo.head || cr.Name != checkName || cr.Conclusion != "failure" {
		t.Errorf("check run %s on %s: %s, want %s on the head: failure", cr.Name, cr.HeadSHA, cr.Conclusion, checkName)
	}
	if d := cmp.Diff([]string{"in_progress", "completed"}, cr.StatusHistory); d != "" {
		t.Errorf("status history (-want +got):\n%s", d)
	}
	if cr.DetailsURL != "https://github.com/acme/platform/actions/runs/4242" {
		t.Errorf("details URL %q", cr.DetailsURL)
	}
	d, err := checks.ParsePatches(patches)
	if err != nil {
		t.Fatal(err)
	}
	comments := gh.ReviewComments(ghOwner, ghRepo, prNumber)
	if len(comments) == 0 {
		t.Fatal("no review comments")
	}
	for _, c := range comments {
		if !d.Commentable(c.Path, c.Line) || c.Side != "RIGHT" || c.CommitID != repo.head {
			t.Errorf("comment on %s:%d %s at %s: not a diff line of the head", c.Path, c.Line, c.Side, c.CommitID)
		}
	}
	if a.stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing: the check run carries the annotations", a.stdout.String())
	}
	summary, err := os.ReadFile(a.summary)
	if err != nil || !strings.HasPrefix(string(summary), "## rbacguard: ") {
		t.Errorf("job summary %.80q, err %v", summary, err)
	}
	outs := a.outputs(t)
	r := readReport(t, outs["report"])
	if r.Base != repo.base || r.Head != repo.head {
		t.Errorf("report compares %s..%s, want merge base %s..head %s", r.Base, r.Head, repo.base, repo.head)
	}
	if _, err := os.Stat(outs["sarif"]); err != nil {
		t.Errorf("sarif output: %v", err)
	}
	if adm, err := os.ReadFile(outs["admission"]); err != nil || !strings.Contains(string(adm), "kind: ValidatingAdmissionPolicy") {
		t.Errorf("admission output %q: %.60q, %v", outs["admission"], adm, err)
	}
	if outs["verdict"] != "fail" || outs["increases"] != itoa(int64(increases(r))) || increases(r) == 0 {
		t.Errorf("outputs %v, want verdict fail and %d increases", outs, increases(r))
	}
	if len(cr.Annotations) == 0 {
		t.Error("no annotations")
	}

	// The same head again: nothing new is posted, the run is updated.
	before := len(gh.Requests())
	nComments := len(comments)
	if code := a.run(t); code != 1 {
		t.Fatalf("second run: exit %d, want 1\nstderr: %s", code, a.stderr.String())
	}
	for _, r := range gh.Requests()[before:] {
		if r.Method == "POST" || r.Status >= 300 {
			t.Errorf("second run: %s %s → %d", r.Method, r.Path, r.Status)
		}
	}
	runs = gh.CheckRuns(ghOwner, ghRepo)
	if len(runs) != 1 || runs[0].ID != cr.ID || runs[0].Updates <= cr.Updates || len(runs[0].Annotations) != len(cr.Annotations) {
		t.Errorf("second run: %d runs, %d annotations (had %d)", len(runs), len(runs[0].Annotations), len(cr.Annotations))
	}
	if n := len(gh.ReviewComments(ghOwner, ghRepo, prNumber)); n != nComments {
		t.Errorf("second run: %d comments, want %d", n, nComments)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAction_WorkflowDispatchScan(t *testing.T) {
	repo := newGitRepo(t)
	for _, tc := range []struct {
		failOn string
		want   func(r *report.Report) int
	}{
		{"", func(r *report.Report) int { return gate(r, report.Critical) }},
		{"none", func(*report.Report) int { return 0 }},
		{"low", func(r *report.Report) int { return gate(r, report.Low) }},
	} {
		t.Run("fail-on="+tc.failOn, func(t *testing.T) {
			gh := githubtest.NewServer(t)
			gh.AddToken(ghToken)
			gh.AddRepo(ghOwner, ghRepo)
			a := newActionRun(t, gh, repo.path, "workflow_dispatch", repo.event(t, "workflow_dispatch.json"), repo.head)
			a.env["INPUT_FAIL-ON"] = tc.failOn
			code := a.run(t)
			outs := a.outputs(t)
			r := readReport(t, outs["report"])
			if want := tc.want(r); code != want {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, want, a.stderr.String())
			}
			if r.Mode != "scan" || r.Head != repo.head || outs["verdict"] != string(r.Verdict) {
				t.Errorf("report mode %q head %s verdict %s, outputs %v", r.Mode, r.Head, r.Verdict, outs)
			}
			runs := gh.CheckRuns(ghOwner, ghRepo)
			if len(runs) != 1 || runs[0].HeadSHA != repo.head || runs[0].Status != "completed" {
				t.Fatalf("check runs %+v", runs)
			}
			if wantC := map[int]string{0: "success", 1: "failure"}[code]; runs[0].Conclusion != wantC {
				t.Errorf("conclusion %s, want %s", runs[0].Conclusion, wantC)
			}
			for _, rq := range gh.Requests() {
				if rq.Status >= 300 {
					t.Errorf("%s %s answered %d", rq.Method, rq.Path, rq.Status)
				}
			}
			checkCommands(t, a.stdout.String(), len(r.Findings))
			if summary, _ := os.ReadFile(a.summary); !strings.Contains(string(summary), "## rbacguard: ") {
				t.Errorf("job summary %.80q", summary)
			}
		})
	}
}

func gate(r *report.Report, t report.Severity) int {
	for _, f := range r.Findings {
		if f.Exemption == nil && f.Severity.AtLeast(t) {
			return 1
		}
	}
	return 0
}

// checkCommands checks workflow-command annotations: some, ≤ 10 per level.
func checkCommands(t *testing.T, stdout string, findings int) {
	t.Helper()
	perLevel := map[string]int{}
	for _, l := range strings.Split(stdout, "\n") {
		if lvl, _, ok := strings.Cut(strings.TrimPrefix(l, "::"), " file="); ok && strings.HasPrefix(l, "::") {
			perLevel[lvl]++
		}
	}
	total := 0
	for lvl, n := range perLevel {
		total += n
		if n > 10 {
			t.Errorf("%d %s commands, want ≤ 10", n, lvl)
		}
	}
	if findings > 0 && total == 0 {
		t.Errorf("no workflow commands on stdout:\n%s", stdout)
	}
}

func TestAction_ForkPullRequestReadOnlyToken(t *testing.T) {
	repo := newGitRepo(t)
	files, _ := repo.patches(t)
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken, githubtest.ReadOnly())
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: 8, BaseSHA: repo.mainTip, HeadSHA: repo.head, Files: files})
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_synchronize_fork.json"), mergeSHA)
	if code := a.run(t); code != 1 {
		t.Fatalf("exit %d, want 1 (the verdict)\nstderr: %s", code, a.stderr.String())
	}
	if !strings.Contains(a.stdout.String(), "::error file=") {
		t.Errorf("no workflow-command annotations:\n%s", a.stdout.String())
	}
	checkCommands(t, a.stdout.String(), 1)
	summary, _ := os.ReadFile(a.summary)
	if !strings.Contains(string(summary), "No check run or review comments were written") || !strings.Contains(string(summary), "## rbacguard: ") {
		t.Errorf("summary lacks the note or the report:\n%.400s", summary)
	}
	if len(gh.CheckRuns(ghOwner, ghRepo)) != 0 || len(gh.ReviewComments(ghOwner, ghRepo, 8)) != 0 {
		t.Error("something was written with a read-only token")
	}
	if outs := a.outputs(t); outs["verdict"] != "fail" {
		t.Errorf("outputs %v", outs)
	}
}

func TestAction_ShallowCheckout(t *testing.T) {
	origin := newGitRepo(t)
	clone := t.TempDir()
	git(t, clone, origin.env, "clone", "-q", "--depth=1", "--branch=main", "file://"+origin.path, ".")
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken)
	files, _ := origin.patches(t)
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: origin.mainTip, HeadSHA: origin.head, Files: files})

	// The head and the merge base are fetched once from origin.
	a := newActionRun(t, gh, clone, "pull_request", origin.event(t, "pull_request_opened.json"), mergeSHA)
	if code := a.run(t); code != 1 {
		t.Fatalf("exit %d, want 1\nstderr: %s", code, a.stderr.String())
	}
	if r := readReport(t, a.outputs(t)["report"]); r.Base != origin.base {
		t.Errorf("base %s, want the merge base %s", r.Base, origin.base)
	}

	// No origin to fetch from: exit 2 and say what to set.
	clone2 := t.TempDir()
	git(t, clone2, origin.env, "clone", "-q", "--depth=1", "--branch=main", "file://"+origin.path, ".")
	git(t, clone2, origin.env, "remote", "set-url", "origin", filepath.Join(t.TempDir(), "gone"))
	gh2 := githubtest.NewServer(t)
	gh2.AddToken(ghToken)
	a = newActionRun(t, gh2, clone2, "pull_request", origin.event(t, "pull_request_opened.json"), mergeSHA)
	if code := a.run(t); code != 2 {
		t.Fatalf("exit %d, want 2\nstderr: %s", code, a.stderr.String())
	}
	msg := a.stderr.String()
	for _, want := range []string{origin.head, "fetch-depth: 0", "actions/checkout"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr %q lacks %q", msg, want)
		}
	}
	if len(gh2.Requests()) != 0 {
		t.Errorf("a broken checkout still talked to GitHub: %v", calls(gh2.Requests()))
	}
}

func TestAction_InputErrors(t *testing.T) {
	repo := newGitRepo(t)
	gh := githubtest.NewServer(t)
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string
	}{
		{"no event", map[string]string{"GITHUB_EVENT_NAME": ""}, "GITHUB_EVENT_NAME is not set"},
		{"unsupported event", map[string]string{"GITHUB_EVENT_NAME": "issues"}, `event "issues" is not supported`},
		{"bad fail-on", map[string]string{"INPUT_FAIL-ON": "severe"}, "input fail-on"},
		{"bad comment-mode", map[string]string{"INPUT_COMMENT-MODE": "loud"}, "input comment-mode"},
		{"bad paths", map[string]string{"INPUT_PATHS": "[x"}, "input paths"},
		{"bad repository", map[string]string{"GITHUB_REPOSITORY": "acme"}, "not owner/name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
			for k, v := range tc.set {
				a.env[k] = v
			}
			if code := a.run(t); code != 2 || !strings.Contains(a.stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, a.stderr.String(), tc.want)
			}
		})
	}
	if n := len(gh.Requests()); n != 0 {
		t.Errorf("input errors made %d requests", n)
	}
}

// TestAction_PersonalToken: a personal access token as github-token may
// not write check runs, so the Action falls back to workflow commands and
// writes nothing through the API (no review comments either, which it
// could not tell from its owner's on the next run); a second run on the
// same head is the same.
func TestAction_PersonalToken(t *testing.T) {
	repo := newGitRepo(t)
	files, _ := repo.patches(t)
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken, githubtest.AsUser("alice"))
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: repo.mainTip, HeadSHA: repo.head, Files: files})
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
	for run := 1; run <= 2; run++ {
		if code := a.run(t); code != 1 {
			t.Fatalf("run %d: exit %d, want 1\nstderr: %s", run, code, a.stderr.String())
		}
		checkCommands(t, a.stdout.String(), 1)
		if len(gh.CheckRuns(ghOwner, ghRepo)) != 0 || len(gh.ReviewComments(ghOwner, ghRepo, prNumber)) != 0 {
			t.Errorf("run %d: a check run or review comment was written with a personal token", run)
		}
		summary, _ := os.ReadFile(a.summary)
		if !strings.Contains(string(summary), "No check run or review comments were written") {
			t.Errorf("run %d: summary lacks the note:\n%.400s", run, summary)
		}
	}
}

// lineOf is the 1-based line of the first line of content containing s.
func lineOf(t *testing.T, content, s string) int {
	t.Helper()
	for i, l := range strings.Split(content, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", s)
	return 0
}

func policyChanges(r *report.Report) []report.Finding {
	var out []report.Finding
	for _, f := range r.Findings {
		if f.Kind == report.PolicyChange {
			out = append(out, f)
		}
	}
	return out
}

// TestAction_BaseWorkflowSetsTheGate is issue 13 item 7: on a pull
// request, the step's gate inputs come from the base branch's workflow,
// whatever the pull request's copy (which is the one that runs) says.
func TestAction_BaseWorkflowSetsTheGate(t *testing.T) {
	baseWF, err := os.ReadFile("../../testdata/action/workflow.yml")
	if err != nil {
		t.Fatal(err)
	}
	base := string(baseWF)
	usesLine := lineOf(t, base, "rbacguard/rbacguard@")
	appendWith := func(line string) string { return base + "          " + line + "\n" }
	for _, tc := range []struct {
		name string
		// files the pull request writes; env the running step sees.
		files map[string]string
		env   map[string]string
		// want: the policy.change finding (none when severity is ""),
		// and the strings its message must hold.
		severity report.Severity
		path     string
		line     string // the text of the line it points at in the head
		msg      []string
		check    func(t *testing.T, gh *githubtest.Server, r *report.Report)
	}{
		{
			name:     "fail-on none",
			files:    map[string]string{workflowPath: appendWith("fail-on: none")},
			env:      map[string]string{"INPUT_FAIL-ON": "none"},
			severity: report.High, path: workflowPath, line: "fail-on: none",
			msg: []string{"fail-on", "(empty)", `"none"`, "line " + itoa(int64(usesLine)), "base branch's value"},
			check: func(t *testing.T, _ *githubtest.Server, r *report.Report) {
				if r.FailOn != report.High {
					t.Errorf("gate %s, want the default high", r.FailOn)
				}
			},
		},
		{
			name:     "paths loosened",
			files:    map[string]string{workflowPath: appendWith("paths: nothing/**")},
			env:      map[string]string{"INPUT_PATHS": "nothing/**"},
			severity: report.High, path: workflowPath, line: "paths: nothing/**",
			msg: []string{"paths", `"nothing/**"`},
			check: func(t *testing.T, _ *githubtest.Server, r *report.Report) {
				if len(r.Overlays) == 0 {
					t.Error("no overlay checked: the pull request's paths applied")
				}
			},
		},
		{
			name:     "comment-mode off",
			files:    map[string]string{workflowPath: strings.Replace(base, "comment-mode: review", "comment-mode: off", 1)},
			env:      map[string]string{"INPUT_COMMENT-MODE": "off"},
			severity: report.High, path: workflowPath, line: "comment-mode: off",
			msg: []string{"comment-mode", `"review"`, `"off"`},
			check: func(t *testing.T, gh *githubtest.Server, _ *report.Report) {
				found := false
				for _, c := range gh.ReviewComments(ghOwner, ghRepo, prNumber) {
					found = found || c.Path == workflowPath
				}
				if !found {
					t.Error("no review comment on the workflow: the pull request's comment-mode off applied")
				}
			},
		},
		{
			name: "new workflow runs with the defaults",
			files: map[string]string{".github/workflows/new.yml": strings.Replace(appendWith("fail-on: none"),
				"check-name: rbacguard", "check-name: rbacguard\n          paths: nothing/**", 1)},
			env: map[string]string{
				"INPUT_FAIL-ON": "none", "INPUT_PATHS": "nothing/**",
				"GITHUB_WORKFLOW_REF": ghOwner + "/" + ghRepo + "/.github/workflows/new.yml@refs/pull/7/merge",
			},
			severity: report.Low, path: ".github/workflows/new.yml", line: "rbacguard/rbacguard@",
			msg: []string{"not on the base branch", "defaults", `fail-on "none"`, `paths "nothing/**"`},
		},
		{
			name: "identical inputs",
			// The pull request reformats the step: same values.
			files: map[string]string{workflowPath: strings.Replace(base, "comment-mode: review", "comment-mode: 'review'  # as before", 1)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := newGitRepo(t)
			if tc.files != nil {
				repo.pushHead(t, tc.files)
			}
			files, _ := repo.patches(t)
			gh := githubtest.NewServer(t)
			gh.AddToken(ghToken)
			gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: repo.mainTip, HeadSHA: repo.head, Files: files})
			a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
			for k, v := range tc.env {
				a.env[k] = v
			}
			// The example's increases are high: the base's gate fails.
			if code := a.run(t); code != 1 {
				t.Fatalf("exit %d, want 1\nstderr: %s", code, a.stderr.String())
			}
			r := readReport(t, a.outputs(t)["report"])
			got := policyChanges(r)
			if tc.severity == "" {
				if len(got) != 0 {
					t.Fatalf("policy.change findings %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d policy.change findings, want 1: %+v", len(got), got)
			}
			f := got[0]
			head := git(t, repo.path, repo.env, "show", repo.head+":"+tc.path)
			want := report.Location{Path: tc.path, Line: lineOf(t, head, tc.line)}
			if f.Severity != tc.severity || f.Location != want {
				t.Errorf("finding %s at %s, want %s at %s", f.Severity, f.Location, tc.severity, want)
			}
			for _, s := range tc.msg {
				if !strings.Contains(f.Message, s) {
					t.Errorf("message %q lacks %q", f.Message, s)
				}
			}
			runs := gh.CheckRuns(ghOwner, ghRepo)
			if len(runs) != 1 || runs[0].Conclusion != "failure" {
				t.Fatalf("check runs %+v, want one failure", runs)
			}
			annotated := false
			for _, an := range runs[0].Annotations {
				annotated = annotated || an.Path == want.Path && an.StartLine == want.Line
			}
			if !annotated {
				t.Errorf("no annotation at %s", want)
			}
			if tc.check != nil {
				tc.check(t, gh, r)
			}
		})
	}
}

// TestAction_ScansIgnoreTheWorkflow: push and workflow_dispatch are not a
// pull request's to loosen: their inputs apply as given.
func TestAction_ScansIgnoreTheWorkflow(t *testing.T) {
	repo := newGitRepo(t)
	for _, event := range []string{"push", "workflow_dispatch"} {
		t.Run(event, func(t *testing.T) {
			gh := githubtest.NewServer(t)
			gh.AddToken(ghToken)
			gh.AddRepo(ghOwner, ghRepo)
			a := newActionRun(t, gh, repo.path, event, repo.event(t, event+".json"), repo.head)
			a.env["INPUT_FAIL-ON"] = "none" // the base's workflow sets none
			if code := a.run(t); code != 0 {
				t.Fatalf("exit %d, want 0 (fail-on none as given)\nstderr: %s", code, a.stderr.String())
			}
			r := readReport(t, a.outputs(t)["report"])
			if r.FailOn != report.None || len(policyChanges(r)) != 0 {
				t.Errorf("gate %s, policy changes %+v; want none and none", r.FailOn, policyChanges(r))
			}
		})
	}
}

// TestAction_SummaryHeadlineCountsTheIncreasesOutput is issue 15 item 5:
// the job summary's headline and the increases output count the same.
func TestAction_SummaryHeadlineCountsTheIncreasesOutput(t *testing.T) {
	repo := newGitRepo(t)
	files, _ := repo.patches(t)
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken)
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: repo.mainTip, HeadSHA: repo.head, Files: files})
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
	if code := a.run(t); code != 1 {
		t.Fatalf("exit %d, want 1\nstderr: %s", code, a.stderr.String())
	}
	summary, err := os.ReadFile(a.summary)
	if err != nil {
		t.Fatal(err)
	}
	headline, _, _ := strings.Cut(string(summary), "\n")
	n := a.outputs(t)["increases"]
	if want := "## rbacguard: " + n + " privilege increases ("; !strings.HasPrefix(headline, want) {
		t.Errorf("headline %q, want it to start %q (the increases output)", headline, want)
	}
}

// TestAction_BaseWorkflowInputErrors: an input the base branch's workflow
// gets wrong stops the run (exit 2) and names that workflow.
func TestAction_BaseWorkflowInputErrors(t *testing.T) {
	wf, err := os.ReadFile("../../testdata/action/workflow.yml")
	if err != nil {
		t.Fatal(err)
	}
	repo := newGitRepoWith(t, map[string]string{workflowPath: string(wf) + "          base-ref: no-such-branch\n"})
	gh := githubtest.NewServer(t)
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
	a.env["INPUT_BASE-REF"] = "no-such-branch"
	if code := a.run(t); code != 2 {
		t.Fatalf("exit %d, want 2\nstderr: %s", code, a.stderr.String())
	}
	for _, want := range []string{"input base-ref (from the base branch's " + workflowPath + ")", "no-such-branch"} {
		if !strings.Contains(a.stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", a.stderr.String(), want)
		}
	}
	if n := len(gh.Requests()); n != 0 {
		t.Errorf("%d requests before the error", n)
	}
}

// TestAction_NoWorkflowRef: without GITHUB_WORKFLOW_REF the step cannot be
// found on the base branch, so the pull request's inputs are not used.
func TestAction_NoWorkflowRef(t *testing.T) {
	repo := newGitRepo(t)
	files, _ := repo.patches(t)
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken)
	gh.AddPullRequest(ghOwner, ghRepo, githubtest.PullRequest{Number: prNumber, BaseSHA: repo.mainTip, HeadSHA: repo.head, Files: files})
	a := newActionRun(t, gh, repo.path, "pull_request", repo.event(t, "pull_request_opened.json"), mergeSHA)
	a.env["GITHUB_WORKFLOW_REF"] = ""
	a.env["INPUT_FAIL-ON"] = "none"
	if code := a.run(t); code != 1 {
		t.Fatalf("exit %d, want 1 (the default gate)\nstderr: %s", code, a.stderr.String())
	}
	r := readReport(t, a.outputs(t)["report"])
	if got := policyChanges(r); len(got) != 1 || got[0].Severity != report.Medium || !strings.Contains(got[0].Message, "GITHUB_WORKFLOW_REF is not set") {
		t.Errorf("policy changes %+v, want one medium about GITHUB_WORKFLOW_REF", got)
	}
}

// TestAction_PathsSelectNothing: a paths input whose glob matches no
// overlay (a typo) is a configuration error: exit 2, and the check run
// concludes failure naming the glob, never a pass over nothing.
func TestAction_PathsSelectNothing(t *testing.T) {
	repo := newGitRepo(t)
	gh := githubtest.NewServer(t)
	gh.AddToken(ghToken)
	gh.AddRepo(ghOwner, ghRepo)
	a := newActionRun(t, gh, repo.path, "workflow_dispatch", repo.event(t, "workflow_dispatch.json"), repo.head)
	a.env["INPUT_PATHS"] = "overlays/prdo"
	if code := a.run(t); code != 2 {
		t.Fatalf("exit %d, want 2\nstderr: %s", code, a.stderr.String())
	}
	if !strings.Contains(a.stderr.String(), `the paths input glob "overlays/prdo" matches no overlay`) {
		t.Errorf("stderr %q", a.stderr.String())
	}
	runs := gh.CheckRuns(ghOwner, ghRepo)
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "failure" {
		t.Fatalf("check runs %+v, want one completed with failure", runs)
	}
	if !strings.Contains(runs[0].Title+runs[0].Summary, "overlays/prdo") {
		t.Errorf("check run does not name the glob: %q %q", runs[0].Title, runs[0].Summary)
	}
}
