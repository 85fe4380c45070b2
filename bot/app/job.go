package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
		s.q.finish(j, outcome == jobSuccess || outcome == jobFailure)
		if s.afterJob != nil {
			s.afterJob(j, outcome)
		}
	}
}

// process runs one job and returns its outcome. Once a check run exists,
// it is completed whatever happens: with the report, or neutral with why
// (an error, a newer head, a shutdown).
func (s *Server) process(j *job) string {
	log := s.log.With("delivery_id", j.delivery, "repo", j.owner+"/"+j.repo, "pr", j.pr,
		"head", sha7(j.headSHA), "installation_id", j.installation, "event", j.event)
	ctx, cancel := context.WithTimeout(j.ctx, s.cfg.JobTimeout)
	defer cancel()
	gh := s.cl.installation(j.installation)
	pub := &bot.Publisher{Client: gh, Log: log, AppID: s.cfg.AppID, Login: s.botLogin(ctx), Now: s.cfg.Now}
	t := bot.Target{
		Owner: j.owner, Repo: j.repo, HeadSHA: j.headSHA, PR: j.pr,
		CheckName: s.cfg.CheckName, DetailsURL: s.cfg.DetailsURL, ExternalID: strconv.Itoa(j.pr),
	}

	// Cancelled while queued: a newer head needs no run for this one; a
	// shutdown hands the head back as a neutral run that can be re-run.
	if cause := context.Cause(j.ctx); cause != nil {
		var sup *supersededError
		if errors.As(cause, &sup) {
			log.Info("superseded before it started", "by", sha7(sup.by))
			return jobSuperseded
		}
		s.handBack(pub, t, log)
		return jobInterrupted
	}

	// Events other than pushes name no base: ask for the pull request
	// before creating a run, so that a closed one gets none. A failure
	// here is reported on the run below.
	baseSHA, err := s.baseOf(ctx, gh, j)
	if errors.Is(err, errSkip) {
		log.Info("pull request is closed; nothing to check")
		return jobSkipped
	}

	runID, serr := pub.Start(ctx, t)
	if serr != nil {
		if o := s.cancelled(j, log); o != "" {
			return o
		}
		log.Error("cannot start the check run", "err", serr)
		return jobError
	}
	log = log.With("check_run", runID)

	var rep *report.Report
	var patches map[string]string
	if err == nil {
		rep, patches, err = s.analyze(ctx, gh, j, baseSHA, log)
	}
	published := false
	if err == nil {
		var res bot.Result
		res, err = pub.Publish(ctx, t, runID, rep, patches, bot.PublishOptions{CommentMode: s.cfg.CommentMode, Limits: checks.DefaultLimits(), Version: s.cfg.Version})
		if err == nil {
			log.Info("checked", "conclusion", res.Conclusion, "findings", len(rep.Findings),
				"comments_created", res.CommentsCreated, "comments_updated", res.CommentsUpdated, "fallback", res.Fallback)
			if res.Conclusion == checks.ConclusionFailure {
				return jobFailure
			}
			return jobSuccess
		}
		published = true
	}

	cause := err
	outcome := jobError
	if c := context.Cause(j.ctx); c != nil {
		cause = c
		outcome = jobInterrupted
		var sup *supersededError
		if errors.As(c, &sup) {
			outcome = jobSuperseded
		}
	}
	if published && s.completed(pub, t, runID) {
		// Publish completes the run before it sends the remaining
		// annotation batches: a later failure must not turn the verdict
		// into a neutral one.
		log.Warn("check run completed, but publishing did not finish", "err", err)
		return outcome
	}
	log.Warn("job did not finish", "outcome", outcome, "err", err)
	s.fail(pub, t, runID, cause, log)
	return outcome
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

// cancelled returns the outcome of a job whose context was cancelled by a
// newer head or a shutdown, or "".
func (s *Server) cancelled(j *job, log *slog.Logger) string {
	c := context.Cause(j.ctx)
	if c == nil {
		return ""
	}
	var sup *supersededError
	if errors.As(c, &sup) {
		log.Info("superseded", "by", sha7(sup.by))
		return jobSuperseded
	}
	return jobInterrupted
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
	return pr.GetBase().GetSHA(), nil
}

// analyze reads both trees and the pull request's patches and runs the
// pipeline.
func (s *Server) analyze(ctx context.Context, gh *github.Client, j *job, baseSHA string, log *slog.Logger) (*report.Report, map[string]string, error) {
	// The base of the comparison is the merge base, as in the pull
	// request's "Files changed": the base branch's tip would blame the pull
	// request for what moved on the base branch since.
	mergeBase := baseSHA
	cmp, _, err := gh.Repositories.CompareCommits(ctx, j.owner, j.repo, baseSHA, j.headSHA, &github.ListOptions{PerPage: 1})
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		log.Warn("no merge base; comparing with the base branch tip", "err", err)
	case isSHA(cmp.GetMergeBaseCommit().GetSHA()):
		mergeBase = cmp.GetMergeBaseCommit().GetSHA()
	}
	base, err := s.fetchTree(ctx, gh, j.owner, j.repo, mergeBase)
	if err != nil {
		return nil, nil, err
	}
	head, err := s.fetchTree(ctx, gh, j.owner, j.repo, j.headSHA)
	if err != nil {
		return nil, nil, err
	}
	patches, err := bot.PullRequestFiles(ctx, gh, j.owner, j.repo, j.pr)
	if err != nil {
		return nil, nil, err
	}
	rep, err := s.analyzeTrees(ctx, base, head)
	if err != nil {
		return nil, nil, fmt.Errorf("compare %s..%s: %w", sha7(mergeBase), sha7(j.headSHA), err)
	}
	return rep, patches, nil
}

func (s *Server) analyzeTrees(ctx context.Context, base, head source.Tree) (*report.Report, error) {
	return s.cfg.Analyze(ctx, base, head)
}

// failCtx is the context for completing a run after its job ended: not the
// job's (it may be cancelled), bounded, and within the shutdown's hand-back
// window once one has begun.
func (s *Server) failCtx() (context.Context, context.CancelFunc) {
	s.mu.Lock()
	hb := s.handBackCtx
	s.mu.Unlock()
	if hb != nil {
		return context.WithTimeout(hb, failTimeout)
	}
	return context.WithTimeout(context.Background(), failTimeout)
}

// fail completes the run neutral with cause; never leaves it in progress
// unless GitHub cannot be reached at all.
func (s *Server) fail(pub *bot.Publisher, t bot.Target, runID int64, cause error, log *slog.Logger) {
	ctx, cancel := s.failCtx()
	defer cancel()
	if err := pub.Fail(ctx, t, runID, cause); err != nil {
		log.Error("cannot complete the check run; reconciliation will", "err", err)
	}
}

// completed reports whether the run is completed already.
func (s *Server) completed(pub *bot.Publisher, t bot.Target, runID int64) bool {
	ctx, cancel := s.failCtx()
	defer cancel()
	cr, _, err := pub.Client.Checks.GetCheckRun(ctx, t.Owner, t.Repo, runID)
	return err == nil && cr.GetStatus() == "completed"
}

// handBack leaves a job that a shutdown kept from starting as a neutral
// run that says so, with GitHub's "Re-run" button, instead of nothing.
func (s *Server) handBack(pub *bot.Publisher, t bot.Target, log *slog.Logger) {
	ctx, cancel := s.failCtx()
	defer cancel()
	runID, err := pub.Start(ctx, t)
	if err != nil {
		log.Warn("cannot hand the job back; redeliver the webhook or push again", "err", err)
		return
	}
	if err := pub.Fail(ctx, t, runID, errInterrupted); err != nil {
		log.Warn("cannot hand the job back; redeliver the webhook or push again", "err", err)
		return
	}
	log.Info("handed back", "check_run", runID)
}
