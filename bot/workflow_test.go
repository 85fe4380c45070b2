package bot

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/report"
)

func TestParseWorkflowRef(t *testing.T) {
	for _, tc := range []struct {
		ref, repo, file string
		err             bool
	}{
		{ref: "acme/platform/.github/workflows/rbacguard.yml@refs/pull/7/merge", repo: "acme/platform", file: ".github/workflows/rbacguard.yml"},
		{ref: "acme/platform/.github/workflows/ci.yaml@refs/heads/main", repo: "acme/platform", file: ".github/workflows/ci.yaml"},
		{ref: "acme/platform/.github/workflows/a@b.yml@refs/heads/x@y", err: true}, // split at the last @: the file would be "a@b.yml@refs/heads/x"
		{ref: "acme/platform/.github/workflows/ci.yml", err: true},
		{ref: "acme/.github/workflows/ci.yml@refs/heads/main", err: true},
		{ref: "acme/platform/.github/workflows/../../etc/passwd.yml@x", err: true},
		{ref: "acme/platform/ci.yml@refs/heads/main", err: true},
		{ref: "acme/platform/.github/workflows/ci.sh@refs/heads/main", err: true},
	} {
		repo, file, err := ParseWorkflowRef(tc.ref)
		if (err != nil) != tc.err || repo != tc.repo || file != tc.file {
			t.Errorf("ParseWorkflowRef(%q) = %q, %q, %v; want %q, %q, error %v", tc.ref, repo, file, err, tc.repo, tc.file, tc.err)
		}
	}
}

func TestActionSelf_Matches(t *testing.T) {
	released := newActionSelf(ActionEnv{ActionPath: "/home/runner/work/_actions/rbacguard/rbacguard/v1", Workspace: "/home/runner/work/platform/platform"})
	fork := newActionSelf(ActionEnv{ActionPath: "/home/runner/work/_actions/Acme/rbacguard-fork/main", Workspace: "/w"})
	local := newActionSelf(ActionEnv{ActionPath: "/w/./", Workspace: "/w"})
	sub := newActionSelf(ActionEnv{ActionPath: "/w/tools/rbacguard", Workspace: "/w"})
	unknown := newActionSelf(ActionEnv{})
	for _, tc := range []struct {
		name string
		self actionSelf
		uses string
		want bool
	}{
		{"release tag", released, "rbacguard/rbacguard@v1", true},
		{"pinned SHA", released, "RBACGuard/rbacguard@0123456789abcdef0123456789abcdef01234567", true},
		{"other action", released, "actions/checkout@v4", false},
		{"no ref", released, "rbacguard/rbacguard", false},
		{"fork by path", fork, "acme/rbacguard-fork@main", true},
		{"canonical from a fork", fork, "rbacguard/rbacguard@v1", true},
		{"local root", local, "./", true},
		{"local other", local, "./tools/lint", false},
		{"local subdirectory", sub, "./tools/rbacguard", true},
		{"local elsewhere", released, "./", false},
		{"unknown, root", unknown, "./", true},
		{"docker", unknown, "docker://rbacguard/rbacguard:v1", false},
	} {
		if got := tc.self.matches(tc.uses); got != tc.want {
			t.Errorf("%s: %+v matches %q = %v, want %v", tc.name, tc.self, tc.uses, got, tc.want)
		}
	}
}

// workflow returns a workflow whose job rbac runs rbacguard with the
// given step lines (indented under the step).
func workflow(step ...string) string {
	s := "on: pull_request\njobs:\n  rbac:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: rbacguard/rbacguard@v1\n"
	for _, l := range step {
		s += "        " + l + "\n"
	}
	return s
}

type gateWant struct {
	sev  report.Severity
	line int
	msg  string
}

func TestCheckGate(t *testing.T) {
	self := newActionSelf(ActionEnv{ActionPath: "/r/_actions/rbacguard/rbacguard/v1"})
	twoSteps := workflow("id: prod", "with:", "  paths: overlays/prod") +
		"      - uses: rbacguard/rbacguard@v1\n        id: dev\n        with:\n          paths: overlays/dev\n          fail-on: none\n"
	for _, tc := range []struct {
		name          string
		base, running string // "" base: absent on the base branch
		action        string // GITHUB_ACTION
		in            ActionInputs
		want          ActionInputs
		findings      []gateWant
		err           string
	}{
		{
			name: "same values",
			base: workflow("with:", "  fail-on: medium", "  paths: |", "    overlays/a", "    overlays/b"), running: workflow("with:", "  fail-on: medium", "  paths: overlays/a, overlays/b"),
			in:   ActionInputs{FailOn: "medium", Paths: "overlays/a, overlays/b", CommentMode: "review"},
			want: ActionInputs{FailOn: "medium", Paths: "overlays/a, overlays/b", CommentMode: "review"},
		},
		{
			name: "fail-on loosened", base: workflow("with:", "  fail-on: medium"), running: workflow("with:", "  fail-on: none"),
			in:       ActionInputs{FailOn: "none", CommentMode: "review"},
			want:     ActionInputs{FailOn: "medium", CommentMode: "review"},
			findings: []gateWant{{report.High, 9, `from "medium" (base branch, line 9) to "none"`}},
		},
		{
			name: "config and base-ref", base: workflow("with:", "  config: .github/strict.yaml"), running: workflow("with:", "  config: .github/lax.yaml", "  base-ref: HEAD"),
			in:   ActionInputs{Config: ".github/lax.yaml", BaseRef: "HEAD", CommentMode: "review"},
			want: ActionInputs{Config: ".github/strict.yaml", CommentMode: "review"},
			findings: []gateWant{
				{report.High, 9, `config in .github/workflows/x.yml (job rbac) from ".github/strict.yaml"`},
				{report.High, 10, `base-ref in .github/workflows/x.yml (job rbac) from (empty) (base branch, line 7) to "HEAD"`},
			},
		},
		{
			name: "comment-mode default", base: workflow(), running: workflow("with:", "  comment-mode: off"),
			in:       ActionInputs{CommentMode: "off", CheckName: "other", Token: "t"},
			want:     ActionInputs{CommentMode: "review", CheckName: "other", Token: "t"},
			findings: []gateWant{{report.High, 9, `comment-mode`}},
		},
		{
			name: "unchanged expression: the runner's value",
			base: workflow("with:", "  fail-on: ${{ vars.GATE }}"), running: workflow("with:", "  fail-on: ${{ vars.GATE }}"),
			in:   ActionInputs{FailOn: "low", CommentMode: "review"},
			want: ActionInputs{FailOn: "low", CommentMode: "review"},
		},
		{
			name: "vars expression, file edited elsewhere: the runner's value",
			base: workflow("with:", "  fail-on: ${{ vars.GATE }}"), running: "env: {X: y}\n" + workflow("with:", "  fail-on: ${{ vars.GATE }}"),
			in:   ActionInputs{FailOn: "low", CommentMode: "review"},
			want: ActionInputs{FailOn: "low", CommentMode: "review"},
		},
		{
			name: "env expression, file unchanged: the runner's value",
			base: "env: {GATE: medium}\n" + workflow("with:", "  fail-on: ${{ env.GATE }}"), running: "env: {GATE: medium}\n" + workflow("with:", "  fail-on: ${{ env.GATE }}"),
			in:   ActionInputs{FailOn: "medium", CommentMode: "review"},
			want: ActionInputs{FailOn: "medium", CommentMode: "review"},
		},
		{
			// The step reads the same, but the value it reads is the pull request's.
			name: "env expression, env edited: the default",
			base: "env: {GATE: medium}\n" + workflow("with:", "  fail-on: ${{ env.GATE }}"), running: "env: {GATE: none}\n" + workflow("with:", "  fail-on: ${{ env.GATE }}"),
			in:       ActionInputs{FailOn: "none", CommentMode: "review"},
			want:     ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.High, 10, `"${{ env.GATE }}" (line 10), an expression rbacguard cannot evaluate, that reads what this pull request's copy of the workflow sets (here it runs as "none")`}},
		},
		{
			name: "edited expression: the default",
			base: workflow("with:", "  fail-on: ${{ vars.GATE }}"), running: workflow("with:", "  fail-on: ${{ vars.LAX }}"),
			in:       ActionInputs{FailOn: "none", CommentMode: "review"},
			want:     ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.High, 9, `"${{ vars.GATE }}" (line 9), an expression rbacguard cannot evaluate, and this pull request changes it to "${{ vars.LAX }}" (runs as "none")`}},
		},
		{
			name: "expression, running copy unknown: the default",
			base: workflow("with:", "  fail-on: ${{ vars.GATE }}"),
			in:   ActionInputs{FailOn: "low", CommentMode: "review"}, want: ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.High, 9, "cannot evaluate"}},
		},
		{
			name: "new workflow", running: workflow("with:", "  fail-on: none"),
			in:       ActionInputs{FailOn: "none", CommentMode: "review"},
			want:     ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.Low, 7, `not on the base branch: this run used the action's defaults instead of the inputs this pull request gives it (fail-on "none")`}},
		},
		{
			name: "new workflow with default inputs", running: workflow(),
			in:       ActionInputs{CommentMode: "review"},
			want:     ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.Info, 7, "which its inputs are anyway"}},
		},
		{
			name: "new step", base: strings.Replace(workflow(), "rbacguard/rbacguard@v1", "actions/setup-go@v5", 1), running: workflow("with:", "  paths: x/**"),
			in: ActionInputs{Paths: "x/**"}, want: ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.Low, 7, "no step of .github/workflows/x.yml (job rbac) uses rbacguard on the base branch"}},
		},
		{
			name: "new job", base: strings.Replace(workflow(), "  rbac:", "  other:", 1), running: workflow(),
			in: ActionInputs{FailOn: "none"}, want: ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.Low, 7, "the job rbac of .github/workflows/x.yml is not on the base branch"}},
		},
		{
			name: "reusable workflow not followed",
			base: "on: pull_request\njobs:\n  call:\n    uses: ./.github/workflows/rbac.yml\n    with: {fail-on: medium}\n", running: workflow(),
			in: ActionInputs{FailOn: "medium"}, want: ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.Low, 7, "(if rbacguard runs in a reusable workflow it calls — ./.github/workflows/rbac.yml — its inputs are not read from there)"}},
		},
		{
			name: "base does not parse", base: "jobs: [", running: workflow(),
			in: ActionInputs{FailOn: "none"}, want: ActionInputs{CommentMode: "review"},
			findings: []gateWant{{report.Low, 7, "does not parse on the base branch"}},
		},
		{
			name: "steps told apart by id", base: twoSteps, running: twoSteps, action: "dev.run",
			in: ActionInputs{Paths: "overlays/prod"}, want: ActionInputs{Paths: "overlays/dev", FailOn: "none"},
			findings: []gateWant{{report.High, 15, `fail-on`}, {report.High, 14, `paths`}},
		},
		{
			name: "steps not told apart", base: twoSteps, running: twoSteps, action: "__rbacguard_rbacguard",
			in: ActionInputs{Paths: "overlays/prod"}, want: ActionInputs{Paths: "overlays/prod"},
			err: "uses rbacguard in 2 steps (lines 7, 11) with different inputs",
		},
		{
			name: "aliases are followed",
			base: "x: &gate medium\n" + workflow("with:", "  fail-on: *gate"), running: workflow("with:", "  fail-on: low"),
			in: ActionInputs{FailOn: "low"}, want: ActionInputs{FailOn: "medium"},
			findings: []gateWant{{report.High, 9, `from "medium" (base branch, line 10) to "low"`}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var base, running []byte
			if tc.base != "" {
				base = []byte(tc.base)
			}
			if tc.running != "" {
				running = []byte(tc.running)
			}
			q := gateQuery{File: ".github/workflows/x.yml", Job: "rbac", Action: tc.action, Self: self, Running: tc.in}
			in, fs, err := checkGate(q, base, running)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, in); d != "" {
				t.Errorf("inputs (-want +got):\n%s", d)
			}
			if len(fs) != len(tc.findings) {
				t.Fatalf("%d findings, want %d: %+v", len(fs), len(tc.findings), fs)
			}
			for i, w := range tc.findings {
				f := fs[i]
				if f.Kind != report.PolicyChange || f.Severity != w.sev || f.Location != (report.Location{Path: q.File, Line: w.line}) || !strings.Contains(f.Message, w.msg) {
					t.Errorf("finding %d: %s %s at %s: %q\nwant %s at line %d containing %q", i, f.Kind, f.Severity, f.Location, f.Message, w.sev, w.line, w.msg)
				}
			}
		})
	}
}

func TestOutsideFile(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"high", true},
		{"${{ vars.GATE }}", true},
		{"${{ vars['GATE'] || secrets.GATE }}", true},
		{"${{ format('{0}', vars.GATE) }}", true},
		{"${{ vars.GATE || 'env.X' }}", true},
		{"${{ env.GATE }}", false},
		{"${{ matrix.overlay }}", false},
		{"${{ inputs.fail-on }}", false},
		{"${{ github.event.pull_request.title }}", false},
		{"${{ vars.A.B }}", false},
		{"${{ vars.GATE }} and ${{ needs.x.outputs.y }}", false},
		{"${{ vars.GATE", false},
	} {
		if got := outsideFile(tc.v); got != tc.want {
			t.Errorf("outsideFile(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
