package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Target is where a report is published: one check run per head commit
// and name, and the pull request's review comments when PR is set.
type Target struct {
	Owner, Repo string
	HeadSHA     string
	PR          int    // 0 when there is no pull request (a scan)
	CheckName   string // stable, unique, e.g. "rbacguard"
	DetailsURL  string // optional
	ExternalID  string // optional; the App stores the PR number here
}

// Comment modes.
const (
	CommentReview      = "review"      // review comments, check run with annotations
	CommentAnnotations = "annotations" // check run with annotations, no review comments
	CommentOff         = "off"         // check run with the summary only
)

// ParseCommentMode validates a comment mode; "" is CommentReview.
func ParseCommentMode(s string) (string, error) {
	switch s = strings.TrimSpace(s); s {
	case "":
		return CommentReview, nil
	case CommentReview, CommentAnnotations, CommentOff:
		return s, nil
	}
	return "", fmt.Errorf("unknown comment mode %q: want review, annotations or off", s)
}

// PublishOptions tune Publish.
type PublishOptions struct {
	CommentMode string        // "review" (default), "annotations", "off"
	Limits      checks.Limits // zero value = checks.DefaultLimits()
	Version     string        // rbacguard version, for SARIF/summary
	// RetryTransient makes Publish return a GitHub outage (5xx, rate
	// limit) met while writing review comments as an error, before the run
	// is completed, so that a caller that re-queues jobs (the App) tries
	// again instead of falling back to annotations. The Action, which
	// cannot wait, falls back.
	RetryTransient bool
}

// Result says what Publish did.
type Result struct {
	CheckRunID int64
	Conclusion string

	CommentsCreated, CommentsUpdated, CommentsResolved int
	// Fallback is true when review comments were wanted but could not be
	// posted (no permission, or GitHub rejected the review): the findings
	// are in the check run's annotations and summary instead, and the
	// Action also prints them as workflow commands.
	Fallback bool
	// FallbackReason says why, for the summary and the log.
	FallbackReason string
	// PermissionDenied is set when the fallback is GitHub refusing the
	// token (403/404), as for a fork pull request's read-only token.
	PermissionDenied bool
}

// Publisher writes check runs and review comments with one client.
type Publisher struct {
	Client *github.Client
	Log    *slog.Logger // nil = discard
	// Login is the account our token writes as (e.g. "github-actions[bot]"
	// for a workflow token, "<slug>[bot]" for an App). Only comments by it
	// are ours to update or resolve. Empty: any Bot account's comment that
	// carries rbacguard's marker.
	Login string
	// AppID, when set, restricts the check runs Start may reuse to that
	// App's. Zero: Start tries the newest run of the name and moves on
	// when GitHub says another App owns it.
	AppID int64
	// Now is the clock for started_at and completed_at; nil = time.Now.
	Now func() time.Time
	// Held, when set, says whether a run that is not completed is held by
	// someone else (the App's lease in its external_id): Ensure then
	// leaves it alone and returns ErrHeld.
	Held func(externalID string) bool
}

// ErrHeld is Ensure finding the run held by another replica of the App.
var ErrHeld = errors.New("the check run is held by another replica")

func (p *Publisher) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func (p *Publisher) now() *github.Timestamp {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	return &github.Timestamp{Time: now().UTC().Truncate(time.Second)}
}

// Start finds the check run for (HeadSHA, CheckName) created by us and
// resets it to in_progress, or creates one: one run per head SHA and name,
// never duplicated. A run that is completed already is reused as it is —
// GitHub keeps a completed run completed — and Publish overwrites its
// output and conclusion.
func (p *Publisher) Start(ctx context.Context, t Target) (int64, error) {
	id, _, err := p.Ensure(ctx, t, "in_progress", nil)
	return id, err
}

// Ensure is Start with the status to set (queued or in_progress) and,
// when output is not nil, the title and summary to show meanwhile
// ("queued", "retrying: …"). It returns the run and the status it had
// before ("" when it was created).
//
// Creating a run is a POST that GitHub may have applied although it
// answered 5xx or timed out; the retry transport never repeats it, and
// Ensure looks for the run again before it creates another, so that a
// head never gets two runs of the same name.
func (p *Publisher) Ensure(ctx context.Context, t Target, status string, output *github.CheckRunOutput) (int64, string, error) {
	if err := t.validate(); err != nil {
		return 0, "", err
	}
	for attempt := 1; ; attempt++ {
		id, was, found, err := p.reuse(ctx, t, status, output)
		if err != nil || found {
			return id, was, err
		}
		cr, _, err := p.Client.Checks.CreateCheckRun(ctx, t.Owner, t.Repo, github.CreateCheckRunOptions{
			Name: t.CheckName, HeadSHA: t.HeadSHA,
			DetailsURL: optional(t.DetailsURL), ExternalID: optional(t.ExternalID),
			Status: github.String(status), StartedAt: p.now(), Output: output,
		})
		if err == nil {
			return cr.GetID(), "", nil
		}
		if attempt >= 2 || !MaybeApplied(err) || ctx.Err() != nil {
			return 0, "", fmt.Errorf("create check run %q on %s: %w", t.CheckName, report.ShortRev(t.HeadSHA), err)
		}
		p.log().Warn("creating the check run may have failed; looking for it before trying again", "repo", t.Owner+"/"+t.Repo, "head", report.ShortRev(t.HeadSHA), "err", err)
	}
}

// reuse finds our newest run of (HeadSHA, CheckName) and sets its status
// and external id; found is false when there is none.
func (p *Publisher) reuse(ctx context.Context, t Target, status string, output *github.CheckRunOutput) (id int64, was string, found bool, err error) {
	opts := &github.ListCheckRunsOptions{CheckName: github.String(t.CheckName), Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: 100}}
	if p.AppID != 0 {
		opts.AppID = github.Int64(p.AppID)
	}
	list, _, err := p.Client.Checks.ListCheckRunsForRef(ctx, t.Owner, t.Repo, t.HeadSHA, opts)
	if err != nil {
		return 0, "", false, fmt.Errorf("list check runs %q of %s: %w", t.CheckName, report.ShortRev(t.HeadSHA), err)
	}
	for _, cr := range list.CheckRuns {
		if cr.GetName() != t.CheckName || cr.GetHeadSHA() != t.HeadSHA {
			continue
		}
		if cr.GetStatus() != "completed" && p.Held != nil && p.Held(cr.GetExternalID()) {
			return cr.GetID(), cr.GetStatus(), true, ErrHeld
		}
		upd := github.UpdateCheckRunOptions{Name: t.CheckName, DetailsURL: optional(t.DetailsURL), ExternalID: optional(t.ExternalID)}
		if cr.GetStatus() != "completed" {
			upd.Status = github.String(status)
			upd.Output = output
		}
		_, _, err := p.Client.Checks.UpdateCheckRun(ctx, t.Owner, t.Repo, cr.GetID(), upd)
		if err == nil {
			p.log().Debug("reusing check run", "repo", t.Owner+"/"+t.Repo, "check_run", cr.GetID(), "status", cr.GetStatus())
			return cr.GetID(), cr.GetStatus(), true, nil
		}
		if !IsPermissionError(err) {
			return 0, "", false, fmt.Errorf("restart check run %d: %w", cr.GetID(), err)
		}
		// Another App's run of the same name: not ours to touch.
	}
	return 0, "", false, nil
}

// Publish completes the check run with the report (title, summary ≤
// limits, annotation batches ≤ 50 sent as successive updates, conclusion)
// and, for a PR in review mode, posts/updates/resolves review comments
// using checks.PlanComments against the comments already on the PR (ours
// only), validated against patches (path → GitHub patch text) so no
// review is ever rejected for an off-diff line; findings without a
// commentable line go to the summary and annotations.
//
// Comments go first so that the summary can say when they could not be
// posted. The conclusion goes with the first update, so that a failure
// later (an annotation batch) can never leave the run in progress or turn
// a failing verdict into an undecided one. Annotations the run has already
// (a re-run on the same head) are not sent again.
func (p *Publisher) Publish(ctx context.Context, t Target, runID int64, r *report.Report, patches map[string]string, o PublishOptions) (Result, error) {
	res := Result{CheckRunID: runID}
	if err := t.validate(); err != nil {
		return res, err
	}
	if r == nil {
		// No verdict to publish: the caller fails the run (Fail), which
		// says why.
		return res, errors.New("publish: no report to publish")
	}
	mode, err := ParseCommentMode(o.CommentMode)
	if err != nil {
		return res, err
	}
	lim := o.Limits
	if lim == (checks.Limits{}) {
		lim = checks.DefaultLimits()
	}
	out := checks.CheckRun(r, t.CheckName, lim)
	res.Conclusion = out.Conclusion

	if mode == CommentReview && t.PR != 0 {
		cs := p.syncComments(ctx, t, r, patches)
		res.CommentsCreated, res.CommentsUpdated, res.CommentsResolved = cs.created, cs.updated, cs.resolved
		res.Fallback, res.FallbackReason, res.PermissionDenied = cs.fallback, cs.reason, cs.denied
		if cs.fallback && o.RetryTransient && IsTransient(cs.err) {
			return res, fmt.Errorf("review comments: %w", cs.err)
		}
	}

	var anns []checks.Annotation
	if mode != CommentOff {
		anns, err = p.newAnnotations(ctx, t, runID, out.Annotations)
		if err != nil {
			return res, err
		}
	}
	summary := out.Summary
	if res.Fallback {
		summary = withNote(summary, fallbackNote(res.FallbackReason), lim.SummaryBytes)
	}
	output := func(batch []checks.Annotation) *github.CheckRunOutput {
		o := &github.CheckRunOutput{Title: github.String(out.Title), Summary: github.String(summary)}
		if out.Text != "" {
			o.Text = github.String(out.Text)
		}
		for _, a := range batch {
			o.Annotations = append(o.Annotations, &github.CheckRunAnnotation{
				Path: github.String(a.Path), StartLine: github.Int(a.StartLine), EndLine: github.Int(a.EndLine),
				AnnotationLevel: github.String(a.Level), Title: optional(a.Title),
				Message: github.String(a.Message), RawDetails: optional(a.RawDetails),
			})
		}
		return o
	}
	batches := checks.Batches(anns, lim.AnnotationsPerRequest)
	first := []checks.Annotation(nil)
	if len(batches) > 0 {
		first, batches = batches[0], batches[1:]
	}
	_, _, err = p.Client.Checks.UpdateCheckRun(ctx, t.Owner, t.Repo, runID, github.UpdateCheckRunOptions{
		Name: t.CheckName, Status: github.String("completed"), Conclusion: github.String(out.Conclusion),
		CompletedAt: p.now(), Output: output(first), ExternalID: optional(t.ExternalID),
	})
	if err != nil {
		return res, fmt.Errorf("complete check run %d: %w", runID, err)
	}
	for i, b := range batches {
		if _, _, err := p.Client.Checks.UpdateCheckRun(ctx, t.Owner, t.Repo, runID, github.UpdateCheckRunOptions{
			Name: t.CheckName, Output: output(b),
		}); err != nil {
			return res, fmt.Errorf("add annotation batch %d of %d to check run %d: %w", i+2, len(batches)+1, runID, err)
		}
	}
	p.log().Info("published", "repo", t.Owner+"/"+t.Repo, "pr", t.PR, "check_run", runID, "conclusion", out.Conclusion,
		"annotations", len(anns), "comments_created", res.CommentsCreated, "comments_updated", res.CommentsUpdated,
		"comments_resolved", res.CommentsResolved, "fallback", res.Fallback)
	return res, nil
}

// Conclusions of a run that ended without a verdict. None of them passes
// a required check: GitHub counts only success, neutral and skipped as
// passing, so an undecided run must never be neutral.
const (
	ConclusionFailure   = "failure"   // could not decide: an error, a GitHub outage outlasting the retries
	ConclusionTimedOut  = "timed_out" // the job's time limit ran out
	ConclusionCancelled = "cancelled" // a newer push made this head moot
)

// Undecided is implemented by causes that know the conclusion and the
// advice a run ending on them deserves (see UndecidedConclusion).
type Undecided interface {
	error
	// Conclusion is ConclusionFailure, ConclusionTimedOut or
	// ConclusionCancelled.
	Conclusion() string
	// Advice says what the reader can do, in one sentence.
	Advice() string
}

// UndecidedConclusion maps the cause of a run that ended without a
// verdict to its conclusion and what to do about it:
//   - a cause implementing Undecided says both itself;
//   - a run that checked nothing (diff.NothingError) is failure: point it
//     at manifests;
//   - context.DeadlineExceeded is timed_out: raise the time limit or
//     re-run;
//   - anything else is failure: re-run, and read the error.
//
// Never neutral or skipped, which pass a required check.
func UndecidedConclusion(cause error) (conclusion, advice string) {
	var u Undecided
	var nothing *diff.NothingError
	switch {
	case errors.As(cause, &u):
		return u.Conclusion(), u.Advice()
	case errors.As(cause, &nothing):
		return ConclusionFailure, "Nothing was checked: the commits hold no Kubernetes manifest rbacguard reads (YAML with apiVersion and kind, or a kustomization). " +
			"Point the paths input at the manifests, or do not run rbacguard on this repository; the error below says what was read."
	case errors.Is(cause, context.DeadlineExceeded):
		return ConclusionTimedOut, "Re-run the check; if it times out again, raise the time limit (--job-timeout for the App, the job's timeout-minutes for the Action)."
	}
	return ConclusionFailure, "Re-run the check (the Re-run button, or push again); if it fails the same way, the error below says what to fix."
}

// Fail completes the run without a verdict: failure, timed_out or
// cancelled as UndecidedConclusion decides — never neutral, which would
// pass a required check — titled with the reason and summarised with
// what to do and the error (redacted: never a token).
func (p *Publisher) Fail(ctx context.Context, t Target, runID int64, cause error) error {
	if runID == 0 {
		return fmt.Errorf("fail check run %q: no check run", t.CheckName)
	}
	conclusion, title, summary := FailOutput(t.CheckName, cause)
	_, _, err := p.Client.Checks.UpdateCheckRun(ctx, t.Owner, t.Repo, runID, github.UpdateCheckRunOptions{
		Name: t.CheckName, Status: github.String("completed"), Conclusion: github.String(conclusion),
		CompletedAt: p.now(), ExternalID: optional(t.ExternalID),
		Output: &github.CheckRunOutput{Title: github.String(title), Summary: github.String(summary)},
	})
	if err != nil {
		return fmt.Errorf("fail check run %d: %w", runID, err)
	}
	return nil
}

// FailOutput is the conclusion, title and summary of a run that ended
// without a verdict on cause.
func FailOutput(checkName string, cause error) (conclusion, title, summary string) {
	conclusion, advice := UndecidedConclusion(cause)
	what := map[string]string{ConclusionTimedOut: "timed out", ConclusionCancelled: "was cancelled"}[conclusion]
	out := checks.UndecidedOutput(checkName, conclusion, cmp.Or(what, "could not decide"), advice, cause)
	return out.Conclusion, out.Title, out.Summary
}

// newAnnotations drops the annotations the run already has, so that a
// re-run on the same head adds nothing (GitHub only ever appends).
func (p *Publisher) newAnnotations(ctx context.Context, t Target, runID int64, want []checks.Annotation) ([]checks.Annotation, error) {
	if len(want) == 0 {
		return nil, nil
	}
	type key struct {
		path         string
		start, end   int
		level, title string
		msg          string
	}
	have := map[key]int{}
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := p.Client.Checks.ListCheckRunAnnotations(ctx, t.Owner, t.Repo, runID, opts)
		if err != nil {
			return nil, fmt.Errorf("list annotations of check run %d: %w", runID, err)
		}
		for _, a := range page {
			have[key{a.GetPath(), a.GetStartLine(), a.GetEndLine(), a.GetAnnotationLevel(), a.GetTitle(), a.GetMessage()}]++
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	var out []checks.Annotation
	for _, a := range want {
		k := key{a.Path, a.StartLine, a.EndLine, a.Level, a.Title, a.Message}
		if have[k] > 0 {
			have[k]--
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// PullRequestFiles returns path → patch for every file of the PR
// (paginated, 100 per page). Files GitHub gives no patch for (binary,
// too large) map to "": they have no commentable line.
func PullRequestFiles(ctx context.Context, c *github.Client, owner, repo string, pr int) (map[string]string, error) {
	files := map[string]string{}
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := c.PullRequests.ListFiles(ctx, owner, repo, pr, opts)
		if err != nil {
			return nil, fmt.Errorf("list files of %s/%s#%d: %w", owner, repo, pr, err)
		}
		for _, f := range page {
			files[f.GetFilename()] = f.GetPatch()
		}
		if resp.NextPage == 0 {
			return files, nil
		}
		opts.Page = resp.NextPage
	}
}

// IsPermissionError reports whether err is GitHub refusing the token
// (403 that is not a rate limit, or 404 — what a read-only workflow
// token of a fork pull request gets on writes).
func IsPermissionError(err error) bool {
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return false
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode == http.StatusForbidden || er.Response.StatusCode == http.StatusNotFound
	}
	return false
}

func isUnprocessable(err error) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity
}

func (t Target) validate() error {
	switch {
	case t.Owner == "" || t.Repo == "":
		return fmt.Errorf("publish: repository owner and name required")
	case t.HeadSHA == "":
		return fmt.Errorf("publish to %s/%s: head SHA required", t.Owner, t.Repo)
	case t.CheckName == "":
		return fmt.Errorf("publish to %s/%s: check name required", t.Owner, t.Repo)
	}
	return nil
}

func fallbackNote(reason string) string {
	return "> [!NOTE]\n> Review comments could not be posted (" + reason + "), so every finding is shown here and as annotations instead."
}

// withNote puts note above summary, within limit bytes (0: no limit).
func withNote(summary, note string, limit int) string {
	s := note + "\n\n" + summary
	if limit <= 0 || len(s) <= limit {
		return s
	}
	keep := limit - len(note) - len("\n\n…\n")
	for keep > 0 && keep < len(summary) && !utf8RuneStart(summary[keep]) {
		keep--
	}
	if keep <= 0 {
		return note
	}
	return note + "\n\n" + summary[:keep] + "…\n"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return github.String(s)
}
