package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/bot"
	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// failTimeout bounds completing a run as failed once its job has ended.
const failTimeout = 30 * time.Second

// errSkip ends a job that has nothing to check (a closed pull request).
var errSkip = errors.New("nothing to check")

// worker runs jobs until the queue is closed and drained.
func (s *Server) worker() {
	defer s.wg.Done()
	for {
		j, ok := s.q.next()
		if !ok {
			return
		}
		s.m.inFlight.Inc()
		start := time.Now()
		outcome := s.process(j)
		s.m.inFlight.Dec()
		s.m.jobDuration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
		if outcome == jobRetrying {
			continue // still held: parked until its next attempt
		}
		s.q.finish(j, outcome == jobSuccess || outcome == jobFailure)
		if s.afterJob != nil {
			s.afterJob(j, outcome)
		}
	}
}

func (s *Server) jobLog(j *job) *slog.Logger {
	return s.log.With("delivery_id", j.delivery, "repo", j.owner+"/"+j.repo, "pr", j.pr,
		"head", sha7(j.headSHA), "installation_id", j.installation, "event", j.event, "attempt", j.attempt)
}

func (s *Server) publisher(ctx context.Context, gh *github.Client, log *slog.Logger) *bot.Publisher {
	return &bot.Publisher{Client: gh, Log: log, AppID: s.cfg.AppID, Login: s.botLogin(ctx), Now: s.cfg.Now,
		Held: func(ext string) bool {
			l, _ := parseLease(ext)
			return !l.expired(s.cfg.now()) && l.holder != s.cfg.ReplicaID
		}}
}

// announce creates the job's check run, queued, as soon as the delivery
// is accepted: GitHub is the queue of record, so a crash leaves a visible
// run that the sweep of any replica takes over. It runs beside the
// webhook's answer, a bounded number at a time; when too many are under
// way the worker creates the run when it starts, and the sweep finds the
// pull request if this process dies first.
func (s *Server) announce(j *job) {
	select {
	case s.announcing <- struct{}{}:
	default:
		close(j.announced)
		return
	}
	go func() {
		defer func() {
			<-s.announcing
			close(j.announced)
		}()
		ctx, cancel := context.WithTimeout(j.ctx, failTimeout)
		defer cancel()
		gh := s.cl.installation(j.installation)
		log := s.jobLog(j)
		id, was, err := s.publisher(ctx, gh, log).Ensure(ctx, s.target(j, s.myLease(j.pr)), "queued", output("Queued", "Waiting for a worker of "+s.cfg.ReplicaID+"."))
		if err != nil {
			log.Warn("cannot create the queued check run; the worker will", "err", err)
			return
		}
		j.setRun(id, was == "completed")
	}()
}

func output(title, summary string) *github.CheckRunOutput {
	return &github.CheckRunOutput{Title: github.String(title), Summary: github.String(summary)}
}

// process runs one attempt of a job and returns its outcome. A run is
// concluded only with a verdict, or without one (failure, timed_out,
// cancelled) once retrying cannot help; a shutdown leaves it queued for
// the sweep, never concluded unanalysed.
func (s *Server) process(j *job) string {
	select {
	case <-j.announced:
	case <-j.ctx.Done():
	}
	j.attempt++
	if j.first.IsZero() {
		j.first = s.cfg.now()
	}
	log := s.jobLog(j)
	ctx, cancel := context.WithTimeout(j.ctx, s.cfg.JobTimeout)
	defer cancel()
	gh := s.cl.installation(j.installation)
	pub := s.publisher(ctx, gh, log)

	// Cancelled while queued: a newer head needs no run for this one; a
	// shutdown leaves it queued.
	if context.Cause(j.ctx) != nil {
		return s.ended(j, pub, nil, log)
	}

	// Events other than pushes name no base: ask for the pull request
	// before starting, so that a closed one is not checked.
	baseSHA, err := s.baseOf(ctx, gh, j)
	if errors.Is(err, errSkip) {
		log.Info("pull request is closed; nothing to check")
		s.nothingToCheck(pub, j, log)
		return jobSkipped
	}

	id, was, serr := pub.Ensure(ctx, s.target(j, s.myLease(j.pr)), "in_progress",
		output("In progress", fmt.Sprintf("Checking %s on %s (attempt %d).", sha7(j.headSHA), s.cfg.ReplicaID, j.attempt)))
	if errors.Is(serr, bot.ErrHeld) {
		log.Info("another replica holds this check run; leaving it to it")
		return jobHandedOver
	}
	if serr != nil {
		return s.ended(j, pub, serr, log)
	}
	j.setRun(id, was == "completed")
	log = log.With("check_run", id)

	var rep *report.Report
	var patches map[string]string
	if err == nil {
		rep, patches, err = s.analyze(ctx, gh, j, baseSHA, log)
	}
	if err == nil {
		// The last look before anything is written to the pull request:
		// another replica may have taken the run meanwhile (lease.go).
		mine, verr := s.stillMine(ctx, gh, j)
		switch {
		case verr != nil:
			err = verr
		case !mine:
			log.Info("another replica holds this check run now; leaving it to it")
			s.dropDuplicate(gh, j)
			return jobHandedOver
		}
	}
	if err == nil {
		var res bot.Result
		res, err = pub.Publish(ctx, s.target(j, lease{pr: j.pr}), j.runID, rep, patches, bot.PublishOptions{CommentMode: s.cfg.CommentMode, Limits: checks.DefaultLimits(), Version: s.cfg.Version, RetryTransient: true})
		if err == nil {
			log.Info("checked", "conclusion", res.Conclusion, "findings", len(rep.Findings),
				"comments_created", res.CommentsCreated, "comments_updated", res.CommentsUpdated, "fallback", res.Fallback)
			if res.Conclusion == checks.ConclusionFailure {
				return jobFailure
			}
			return jobSuccess
		}
		if !j.runDone && s.completed(pub, j) {
			// Publish completes the run before it sends the remaining
			// annotation batches: the verdict stands.
			log.Warn("check run completed, but publishing did not finish", "err", err)
			if checks.Conclusion(rep) == checks.ConclusionFailure {
				return jobFailure
			}
			return jobSuccess
		}
	}
	return s.ended(j, pub, err, log)
}

// ended decides what becomes of a job that did not publish a verdict:
//   - superseded by a newer push: concluded cancelled;
//   - interrupted by a shutdown: left queued with its lease released, for
//     the sweep of any replica (never concluded unanalysed);
//   - a GitHub error (5xx, rate limit, a tarball not there yet) within
//     RetryFor of the first attempt: re-queued with backoff, the run
//     showing "Retrying: …";
//   - anything else, or retries exhausted: concluded failure (timed_out
//     for the job's time limit) with the reason and what to do.
func (s *Server) ended(j *job, pub *bot.Publisher, err error, log *slog.Logger) string {
	if c := context.Cause(j.ctx); c != nil {
		var sup *supersededError
		if errors.As(c, &sup) {
			log.Info("superseded", "by", sha7(sup.by))
			s.conclude(pub, j, sup, log)
			return jobSuperseded
		}
		s.release(j, log)
		return jobInterrupted
	}
	if transient(err) {
		if d, ok := s.retryDelay(j, err); ok {
			log.Warn("GitHub failed; the job will be retried", "in", d, "err", err)
			s.retryLater(j, d, err, log)
			return jobRetrying
		}
		err = &gaveUpError{err: err, after: s.cfg.now().Sub(j.first).Round(time.Second)}
	}
	log.Warn("job ended without a verdict", "err", err)
	if j.runID == 0 {
		// No run could be created, and GitHub refuses for good (a
		// permission, a validation): nothing to conclude. The sweep tries
		// again while the pull request is open.
		log.Error("no check run for this head", "err", err)
		return jobError
	}
	s.conclude(pub, j, err, log)
	return jobError
}

// transient reports whether waiting may help: GitHub unavailable, or a
// tarball it has not built yet.
func transient(err error) bool {
	var nr *notReadyError
	return err != nil && (bot.IsTransient(err) || errors.As(err, &nr))
}

// gaveUpError is a transient failure that outlasted RetryFor.
type gaveUpError struct {
	err   error
	after time.Duration
}

func (e *gaveUpError) Error() string {
	return fmt.Sprintf("GitHub kept failing for %s: %v", e.after, e.err)
}
func (e *gaveUpError) Unwrap() error      { return e.err }
func (e *gaveUpError) Conclusion() string { return bot.ConclusionFailure }
func (e *gaveUpError) Advice() string {
	return "GitHub was unavailable for longer than rbacguard retries (--retry-for). Re-run the check once https://www.githubstatus.com is green."
}

// retryDelay is the wait before the next attempt, jittered, and whether
// it still fits in RetryFor.
func (s *Server) retryDelay(j *job, cause error) (time.Duration, bool) {
	if s.draining.Load() {
		return 0, false
	}
	d := s.cfg.RetryBase
	for i := 1; i < j.attempt && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	d = d*3/4 + time.Duration(rand.Int64N(int64(d/2)+1))
	// A rate limit says when to come back: go-github refuses every request
	// locally until then, so an earlier attempt would only spin.
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	switch {
	case errors.As(cause, &ab) && ab.RetryAfter != nil:
		d = max(d, *ab.RetryAfter)
	case errors.As(cause, &rl):
		d = max(d, rl.Rate.Reset.Time.Sub(time.Now()))
	}
	return d, s.cfg.now().Add(d).Sub(j.first) <= s.cfg.RetryFor
}

// retryLater parks j and offers it again after d; meanwhile its run is
// queued, says why, and keeps this replica's lease.
func (s *Server) retryLater(j *job, d time.Duration, cause error, log *slog.Logger) {
	if j.runID != 0 && !j.runDone {
		ctx, cancel := s.failCtx()
		reason, _, _ := strings.Cut(checks.ErrorMessage(cause), "\n")
		if err := s.setRun(ctx, s.cl.installation(j.installation), j, "queued", s.myLease(j.pr),
			checks.Title("Retrying: "+reason),
			fmt.Sprintf("GitHub failed (attempt %d); rbacguard tries again in about %s, for up to %s in all, and concludes the run only then.\n\n%s",
				j.attempt, d.Round(time.Second), s.cfg.RetryFor, reason)); err != nil {
			log.Warn("cannot show the retry on the check run", "err", err)
		}
		cancel()
	}
	s.q.park(j, d, func() { s.resume(j) })
}

// resume offers a parked job again, or ends it when it was cancelled
// meanwhile or the queue is closed.
func (s *Server) resume(j *job) {
	switch ok, closed := s.q.requeue(j); {
	case ok:
		return
	case closed || context.Cause(j.ctx) != nil:
		go func() {
			log := s.jobLog(j)
			pub := s.publisher(context.Background(), s.cl.installation(j.installation), log)
			outcome := jobInterrupted
			if context.Cause(j.ctx) != nil {
				outcome = s.ended(j, pub, nil, log)
			} else {
				s.release(j, log) // shutting down: left queued for the sweep
			}
			s.q.finish(j, false)
			if s.afterJob != nil {
				s.afterJob(j, outcome)
			}
		}()
	default: // the queue is full: wait again
		d, _ := s.retryDelay(j, nil)
		s.q.park(j, max(d, s.cfg.RetryBase), func() { s.resume(j) })
	}
}

// release leaves j's run queued with no lease, so that the sweep of any
// replica takes it at once: what a shutdown does to the jobs it cannot
// finish.
func (s *Server) release(j *job, log *slog.Logger) {
	if j.runID == 0 || j.runDone {
		log.Info("left for the sweep", "check_run", j.runID)
		return
	}
	ctx, cancel := s.failCtx()
	defer cancel()
	err := s.setRun(ctx, s.cl.installation(j.installation), j, "queued", lease{pr: j.pr},
		"Queued: rbacguard restarted before checking this head",
		"The replica that held this check stopped; another replica, or this one when it is back, takes it over. The check has not run yet, so it neither passes nor fails.")
	if err != nil {
		log.Warn("cannot release the check run; its lease expires instead", "check_run", j.runID, "err", err)
		return
	}
	log.Info("released for the sweep", "check_run", j.runID)
}

// conclude completes j's run without a verdict (bot.Publisher.Fail).
func (s *Server) conclude(pub *bot.Publisher, j *job, cause error, log *slog.Logger) {
	if j.runID == 0 {
		return
	}
	ctx, cancel := s.failCtx()
	defer cancel()
	if err := pub.Fail(ctx, s.target(j, lease{pr: j.pr}), j.runID, cause); err != nil {
		log.Error("cannot complete the check run; the sweep will take it over when its lease expires", "err", err)
	}
}

// nothingToCheck completes the run of a closed pull request neutral: the
// one case with nothing to decide. A closed pull request cannot be
// merged, and reopening it checks it again.
func (s *Server) nothingToCheck(pub *bot.Publisher, j *job, log *slog.Logger) {
	if j.runID == 0 || j.runDone {
		return
	}
	ctx, cancel := s.failCtx()
	defer cancel()
	_, _, err := pub.Client.Checks.UpdateCheckRun(ctx, j.owner, j.repo, j.runID, github.UpdateCheckRunOptions{
		Name: s.cfg.CheckName, Status: github.String("completed"), Conclusion: github.String("neutral"),
		ExternalID: github.String(lease{pr: j.pr}.String()),
		Output:     output("Nothing to check: the pull request is closed", "A closed pull request cannot be merged; reopening it checks it again."),
	})
	if err != nil {
		log.Warn("cannot complete the check run of a closed pull request", "err", err)
	}
}

// botLogin is the account the App writes as, "<slug>[bot]": only its
// comments are ours to update or resolve. Config.BotLogin wins; else the
// slug is asked of GitHub (GET /app) once. Until that succeeds, any bot's
// comment carrying our marker is taken as ours.
func (s *Server) botLogin(ctx context.Context) string {
	if s.cfg.BotLogin != "" {
		return s.cfg.BotLogin
	}
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	if s.login == "" {
		a, _, err := s.cl.app().Apps.Get(ctx, "")
		if err != nil || a.GetSlug() == "" {
			s.log.Warn("cannot learn the app's slug; set --app-slug", "err", err)
			return ""
		}
		s.login = a.GetSlug() + "[bot]"
	}
	return s.login
}

// baseOf returns the base branch's commit: from the push event, or from
// the pull request itself (errSkip when it is closed).
func (s *Server) baseOf(ctx context.Context, gh *github.Client, j *job) (string, error) {
	if j.baseSHA != "" {
		return j.baseSHA, nil
	}
	pr, _, err := gh.PullRequests.Get(ctx, j.owner, j.repo, j.pr)
	if err != nil {
		return "", fmt.Errorf("get pull request #%d: %w", j.pr, err)
	}
	if pr.GetState() == "closed" {
		return "", errSkip
	}
	if !isSHA(pr.GetBase().GetSHA()) {
		return "", fmt.Errorf("pull request #%d: GitHub gave no valid base commit", j.pr)
	}
	return pr.GetBase().GetSHA(), nil
}

// analyze reads both trees and the pull request's patches and runs the
// pipeline. A tree over a size or count limit is not an error: it is a
// high finding naming the largest files (limitReport), so the gate fails
// with a reason the author can act on.
func (s *Server) analyze(ctx context.Context, gh *github.Client, j *job, baseSHA string, log *slog.Logger) (*report.Report, map[string]string, error) {
	// The base of the comparison is the merge base, as in the pull
	// request's "Files changed": the base branch's tip would blame the pull
	// request for what moved on the base branch since.
	mergeBase := baseSHA
	cmp, _, err := gh.Repositories.CompareCommits(ctx, j.owner, j.repo, baseSHA, j.headSHA, &github.ListOptions{PerPage: 1})
	switch {
	case err != nil:
		if ctx.Err() != nil || bot.IsTransient(err) {
			return nil, nil, err
		}
		log.Warn("no merge base; comparing with the base branch tip", "err", err)
	case isSHA(cmp.GetMergeBaseCommit().GetSHA()):
		mergeBase = cmp.GetMergeBaseCommit().GetSHA()
	}
	patches, err := bot.PullRequestFiles(ctx, gh, j.owner, j.repo, j.pr)
	if err != nil {
		return nil, nil, err
	}
	base, err := s.fetchTree(ctx, gh, j.owner, j.repo, mergeBase)
	if err != nil {
		if rep, ok := s.limitReport("base", mergeBase, j.headSHA, err); ok {
			return rep, patches, nil
		}
		return nil, nil, err
	}
	head, err := s.fetchTree(ctx, gh, j.owner, j.repo, j.headSHA)
	if err != nil {
		if rep, ok := s.limitReport("head", mergeBase, j.headSHA, err); ok {
			return rep, patches, nil
		}
		return nil, nil, err
	}
	rep, err := s.cfg.Analyze(ctx, base, head)
	if err != nil {
		return nil, nil, fmt.Errorf("compare %s..%s: %w", sha7(mergeBase), sha7(j.headSHA), err)
	}
	return rep, patches, nil
}

// limitReport turns a tree over its limits into a report with one high
// finding naming the largest files, ok false for other errors.
func (s *Server) limitReport(side, base, head string, err error) (*report.Report, bool) {
	var le *source.LimitError
	if !errors.As(err, &le) {
		return nil, false
	}
	var largest []source.FileSize
	var ol *source.OverLimitError
	if errors.As(err, &ol) {
		largest = ol.Largest
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the %s tree is over rbacguard's limits (%s), so nothing in it could be checked", side, le.What)
	loc := report.Location{}
	if len(largest) > 0 {
		b.WriteString("; largest files: ")
		for i, f := range largest {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s (%d bytes)", f.Path, f.Size)
		}
		loc.Path = largest[0].Path
	}
	if len(largest) > 0 {
		b.WriteString(". Remove or shrink them (a symbolic link counts once per link), or raise the limit the App runs with.")
	} else {
		b.WriteString(". Make the tree smaller, or raise the limit the App runs with.")
	}
	r := &report.Report{Mode: "diff", Base: base, Head: head, Findings: []report.Finding{{
		ID:       report.ID(report.RenderError, "", "tree-limit", side),
		Kind:     report.RenderError,
		Severity: report.High,
		Location: loc,
		Message:  b.String(),
		Risk:     "a tree rbacguard cannot read may grant anything",
	}}}
	failOn := s.cfg.Diff.FailOn
	if failOn == "" {
		failOn = report.High
	}
	r.Finish(failOn)
	return r, true
}

// failCtx is the context for writing to a run after its job ended: not
// the job's (it may be cancelled), bounded, and within the shutdown's
// hand-back window once one has begun.
func (s *Server) failCtx() (context.Context, context.CancelFunc) {
	s.mu.Lock()
	hb := s.handBackCtx
	s.mu.Unlock()
	if hb != nil {
		return context.WithTimeout(hb, failTimeout)
	}
	return context.WithTimeout(context.Background(), failTimeout)
}

// completed reports whether j's run is completed already.
func (s *Server) completed(pub *bot.Publisher, j *job) bool {
	ctx, cancel := s.failCtx()
	defer cancel()
	cr, _, err := pub.Client.Checks.GetCheckRun(ctx, j.owner, j.repo, j.runID)
	return err == nil && cr.GetStatus() == "completed"
}
