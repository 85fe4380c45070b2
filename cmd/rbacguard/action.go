package main

import (
	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/bot"
	"github.com/rbacguard/rbacguard/diff/report"
)

func newActionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "action",
		Short: "Run as a GitHub Action (reads GITHUB_* and INPUT_*)",
		Long: `action is the runtime of rbacguard's GitHub Action (action.yml). It reads the
Actions environment (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_WORKSPACE, …)
and the action's inputs (INPUT_GITHUB-TOKEN, INPUT_PATHS, INPUT_CONFIG,
INPUT_FAIL-ON, INPUT_COMMENT-MODE, INPUT_BASE-REF, INPUT_CHECK-NAME, INPUT_AUDIT-LOG).

On pull_request and pull_request_target it compares the merge base of the pull
request with its head commit, both read from git objects of the checkout; on
workflow_dispatch, push and schedule it scans the commit at GITHUB_SHA. It
writes a check run, review comments, the job summary, the JSON report and SARIF
files and the step outputs verdict, increases, report and sarif.

On a pull request the workflow that runs the step is the pull request's own
copy, so the inputs that set the gate (fail-on, paths, config, comment-mode,
base-ref) are taken from the base branch's copy of that workflow
(GITHUB_WORKFLOW_REF, read from git objects at the base branch's tip); an input
the pull request changed is a high policy.change finding, and a workflow the
base branch lacks runs with the defaults.

Exit code: 1 when the verdict fails, 0 otherwise, 2 on input errors.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			a := &bot.Action{Env: bot.ReadActionEnv(e.getenv), Stdout: e.stdout, Log: e.log, Version: versionString()}
			res, err := a.Run(c.Context())
			if err != nil {
				return err
			}
			if res.Report.Verdict == report.Fail {
				return errGateFailed
			}
			return nil
		},
	}
}
