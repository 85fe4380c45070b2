// Package bot is the publish stage of the pipeline (report → publish): the
// drivers that talk to GitHub. It turns the pure output of package checks
// into check runs, review comments, workflow commands, the job summary and
// step outputs.
//
// One file per concern:
//   - publish.go: Publisher — one check run per (head SHA, name), started,
//     completed with the report, or failed neutral; shared with the App.
//   - comments.go: review comments planned with checks.PlanComments and
//     validated against the pull request's patches before anything is sent.
//   - retry.go: a RoundTripper that retries 5xx, timeouts and rate limits
//     below go-github, with an injectable sleep.
//   - useragent.go: the User-Agent naming rbacguard's version on every
//     request to GitHub.
//   - event.go: the Actions event payloads rbacguard acts on.
//   - action.go: `rbacguard action`, the GitHub Action runtime.
//   - workflow.go: on a pull request, the gate inputs (fail-on, paths,
//     config, comment-mode, base-ref) taken from the base branch's copy of
//     the running workflow, since the running copy is the pull request's.
//   - workflowcmd.go: workflow-command annotations, step outputs and the
//     job summary, for when the API may not be written to.
//
// Nothing here prints a token: errors shown on GitHub go through
// checks.ErrorOutput, which redacts credentials, and go-github strips
// them from URLs.
package bot
