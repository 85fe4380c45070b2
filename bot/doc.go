// Package bot is the publish stage of the pipeline (report → publish): the
// drivers that talk to GitHub. It turns the pure output of package checks
// into check runs, review comments, workflow commands, the job summary and
// step outputs.
//
// One file per concern:
//   - publish.go: Publisher — one check run per (head SHA, name), created
//     or found (never twice, even when GitHub answers a create with 5xx),
//     completed with the report, or failed without a verdict; shared with
//     the App.
//   - comments.go: review comments planned with checks.PlanComments and
//     validated against the pull request's patches before anything is sent.
//   - retry.go: a RoundTripper that retries 5xx, timeouts and rate limits
//     below go-github, with an injectable sleep — never a POST after a
//     5xx or a timeout, which GitHub may have applied — and the error
//     classes callers retry on (IsTransient, MaybeApplied).
//   - useragent.go: the User-Agent naming rbacguard's version on every
//     request to GitHub.
//   - event.go: the Actions event payloads rbacguard acts on.
//   - git.go: the base and head commits of the Action's checkout (merge
//     base, fetching a fork's head by SHA), read with source.GitRev.
//   - action.go: `rbacguard action`, the GitHub Action runtime.
//   - workflow.go: on a pull request, the gate inputs (fail-on, paths,
//     config, comment-mode, base-ref) taken from the base branch's copy of
//     the running workflow, since the running copy is the pull request's.
//   - workflowcmd.go: workflow-command annotations, step outputs and the
//     job summary, for when the API may not be written to.
//
// Conclusions. A verdict is success or failure (checks.Conclusion). A run
// that ends without one is never neutral: GitHub counts neutral, like
// success and skipped, as passing a required check, so "could not look"
// would pass. Publisher.Fail concludes it (UndecidedConclusion):
//   - failure, "<name> could not decide: <reason>", for any error — a
//     GitHub outage that outlasted the retries, a render or input error —
//     with what to do (re-run, raise a limit, vendor an input);
//   - timed_out when the time limit ran out;
//   - cancelled when a newer push made the head moot (the App).
//
// The App keeps neutral for one case only, a pull request closed before
// its check ran: there is nothing to decide, a closed pull request cannot
// be merged, and reopening it checks it again.
//
// Nothing here prints a token: errors shown on GitHub go through
// checks.ErrorOutput, which redacts credentials, and go-github strips
// them from URLs.
package bot
