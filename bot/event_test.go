package bot

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/glob"
)

func TestParseEvent_Fixtures(t *testing.T) {
	for _, tc := range []struct {
		name, event, file string
		want              *Event
	}{
		{
			name: "pull request from the same repository", event: "pull_request", file: "pull_request_opened.json",
			want: &Event{Name: "pull_request", Repo: "acme/platform", PR: &PullRequest{
				Number: 7, BaseSHA: strings.Repeat("2", 40), HeadSHA: strings.Repeat("1", 40),
				BaseRef: "main", HeadRef: "report-secrets", HeadRepo: "acme/platform",
			}},
		},
		{
			name: "pull_request_target from a fork", event: "pull_request_target", file: "pull_request_synchronize_fork.json",
			want: &Event{Name: "pull_request_target", Repo: "acme/platform", PR: &PullRequest{
				Number: 8, BaseSHA: strings.Repeat("2", 40), HeadSHA: strings.Repeat("4", 40),
				BaseRef: "main", HeadRef: "patch-1", HeadRepo: "octodev/platform", Fork: true,
			}},
		},
		{
			name: "workflow_dispatch", event: "workflow_dispatch", file: "workflow_dispatch.json",
			want: &Event{Name: "workflow_dispatch", Repo: "acme/platform"},
		},
		{
			name: "push", event: "push", file: "push.json",
			want: &Event{Name: "push", Repo: "acme/platform"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile("../testdata/action/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseEvent(tc.event, data)
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("event (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseEvent_Errors(t *testing.T) {
	sha := strings.Repeat("a", 40)
	for _, tc := range []struct {
		name, event, payload, want string
	}{
		{"unsupported event", "issues", `{}`, `event "issues" is not supported`},
		{"not JSON", "pull_request", `{"number":`, "parse pull_request event payload"},
		{"empty pull request payload", "pull_request", ``, "empty"},
		{"no pull_request object", "pull_request", `{"number": 1}`, "no pull_request object"},
		{"no number", "pull_request", `{"pull_request": {"base": {"sha": "` + sha + `"}, "head": {"sha": "` + sha + `"}}}`, "number missing"},
		{"short sha", "pull_request", `{"number": 1, "pull_request": {"base": {"sha": "abc"}, "head": {"sha": "` + sha + `"}}}`, `pull_request.base.sha "abc" is not a commit SHA`},
		{"option injection", "pull_request_target", `{"number": 1, "pull_request": {"base": {"sha": "` + sha + `"}, "head": {"sha": "--upload-pack=evil"}}}`, "is not a commit SHA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEvent(tc.event, []byte(tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseEvent_DeletedForkIsFork(t *testing.T) {
	sha := strings.Repeat("b", 40)
	ev, err := ParseEvent("pull_request", []byte(`{"number": 3, "repository": {"full_name": "a/b"},
		"pull_request": {"number": 3, "base": {"sha": "`+sha+`", "repo": {"full_name": "a/b"}}, "head": {"sha": "`+sha+`", "repo": null}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !ev.PR.Fork || ev.PR.HeadRepo != "" {
		t.Errorf("PR = %+v, want a fork with no head repository", ev.PR)
	}
}

func TestReadActionEnv(t *testing.T) {
	env := map[string]string{
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/e.json", "GITHUB_REPOSITORY": "acme/platform",
		"GITHUB_SHA": "abc", "GITHUB_STEP_SUMMARY": "/s.md", "GITHUB_OUTPUT": "/o", "GITHUB_API_URL": "https://api.github.com",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_WORKSPACE": "/w", "GITHUB_RUN_ID": "42", "RUNNER_TEMP": "/tmp/r",
		"GITHUB_WORKFLOW_REF": "acme/platform/.github/workflows/rbacguard.yml@refs/pull/7/merge", "GITHUB_WORKFLOW_SHA": "def",
		"GITHUB_JOB": "rbac-diff", "GITHUB_ACTION": "rbacguard.run", "GITHUB_ACTION_PATH": "/a/_actions/rbacguard/rbacguard/v1",
		"GITHUB_ACTION_REPOSITORY": "rbacguard/rbacguard",
		"INPUT_GITHUB-TOKEN":       "secret-value", // as the runner names it
		"INPUT_PATHS":              " overlays/* ",
		"INPUT_CONFIG":             "policy.yaml",
		"INPUT_FAIL_ON":            "medium", // as a composite action's env block names it
		"INPUT_COMMENT-MODE":       "annotations",
		"INPUT_BASE-REF":           "origin/main",
		"INPUT_CHECK-NAME":         "rbac",
		"INPUT_AUDIT_LOG":          "audit.log.gz",
	}
	got := ReadActionEnv(func(k string) string { return env[k] })
	want := ActionEnv{
		EventName: "pull_request", EventPath: "/e.json", Repository: "acme/platform", SHA: "abc",
		StepSummary: "/s.md", OutputFile: "/o", APIURL: "https://api.github.com", ServerURL: "https://github.com",
		Workspace: "/w", RunID: "42", RunnerTemp: "/tmp/r",
		WorkflowRef: "acme/platform/.github/workflows/rbacguard.yml@refs/pull/7/merge", WorkflowSHA: "def",
		Job: "rbac-diff", ActionID: "rbacguard.run", ActionPath: "/a/_actions/rbacguard/rbacguard/v1", ActionRepository: "rbacguard/rbacguard",
		Inputs: ActionInputs{Token: "secret-value", Paths: "overlays/*", Config: "policy.yaml", FailOn: "medium",
			CommentMode: "annotations", BaseRef: "origin/main", CheckName: "rbac", AuditLog: "audit.log.gz"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ReadActionEnv (-want +got):\n%s", d)
	}
}

func TestPathsSelection(t *testing.T) {
	for _, tc := range []struct {
		spec      string
		match     []string
		dontMatch []string
	}{
		{"", []string{"anything", "."}, nil},
		{"overlays/*", []string{"overlays/prod", "overlays/dev"}, []string{"overlays/prod/eu", "base", "clusters/overlays/prod"}},
		{"overlays/**", []string{"overlays/prod", "overlays/prod/eu", "overlays"}, []string{"base"}},
		{"**/prod", []string{"prod", "overlays/prod", "clusters/eu/prod"}, []string{"overlays/prod/eu"}},
		{"./overlays/prod/, clusters/*\nedge", []string{"overlays/prod", "clusters/a", "edge"}, []string{"overlays/dev", "clusters/a/b"}},
		{"clusters/**/prod", []string{"clusters/prod", "clusters/eu/west/prod"}, []string{"clusters/eu/dev"}},
		{".", []string{"."}, []string{"overlays/prod"}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := PathsSelection(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if s == nil {
				if tc.spec != "" {
					t.Fatal("nil selection")
				}
				return
			}
			sel := func(p string) bool { return glob.Select(s.Include, s.Exclude, p) }
			for _, p := range tc.match {
				if !sel(p) {
					t.Errorf("%q does not match %q", tc.spec, p)
				}
			}
			for _, p := range tc.dontMatch {
				if sel(p) {
					t.Errorf("%q matches %q", tc.spec, p)
				}
			}
		})
	}
	if _, err := PathsSelection("overlays/[prod"); err == nil {
		t.Error("bad glob accepted")
	}
}
