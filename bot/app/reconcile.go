package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/bot"
)

// errStale completes a run that a previous process left in progress.
var errStale = errors.New("interrupted: rbacguard restarted while this check was running; it will be retried on the next push or re-run")

// Reconcile completes, neutral, our check runs that have been in progress
// for longer than StaleAfter on the heads of open pull requests: a replica
// that died (OOM, node loss) leaves them so, and a required check in
// progress blocks the merge forever. GitHub has no "list check runs of a
// repository", so it walks installations → repositories → open pull
// requests → check runs of each head, bounded by ReconcileMaxRepos and
// 100 open pull requests per repository. It returns how many runs it
// completed. Replicas may run it at once: completing a run twice is
// harmless.
func (s *Server) Reconcile(ctx context.Context) (int, error) {
	completed, repos := 0, 0
	opts := &github.ListOptions{PerPage: 100}
	for {
		insts, resp, err := s.cl.app().Apps.ListInstallations(ctx, opts)
		if err != nil {
			return completed, fmt.Errorf("list installations: %w", err)
		}
		for _, in := range insts {
			n, visited, err := s.reconcileInstallation(ctx, in.GetID(), s.cfg.ReconcileMaxRepos-repos)
			completed += n
			repos += visited
			if err != nil {
				return completed, err
			}
			if repos >= s.cfg.ReconcileMaxRepos {
				return completed, nil
			}
		}
		if resp.NextPage == 0 {
			return completed, nil
		}
		opts.Page = resp.NextPage
	}
}

func (s *Server) reconcileInstallation(ctx context.Context, id int64, budget int) (completed, visited int, err error) {
	gh := s.cl.installation(id)
	opts := &github.ListOptions{PerPage: 100}
	for {
		list, resp, err := gh.Apps.ListRepos(ctx, opts)
		if err != nil {
			return completed, visited, fmt.Errorf("list repositories of installation %d: %w", id, err)
		}
		for _, r := range list.Repositories {
			if visited >= budget {
				return completed, visited, nil
			}
			visited++
			n, err := s.reconcileRepo(ctx, gh, r.GetOwner().GetLogin(), r.GetName())
			completed += n
			if err != nil {
				if ctx.Err() != nil {
					return completed, visited, err
				}
				s.log.Warn("reconcile repository", "repo", r.GetFullName(), "installation_id", id, "err", err)
			}
		}
		if resp.NextPage == 0 {
			return completed, visited, nil
		}
		opts.Page = resp.NextPage
	}
}

func (s *Server) reconcileRepo(ctx context.Context, gh *github.Client, owner, repo string) (int, error) {
	prs, _, err := gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		return 0, fmt.Errorf("list open pull requests: %w", err)
	}
	cutoff := s.cfg.now().Add(-s.cfg.StaleAfter)
	pub := &bot.Publisher{Client: gh, Log: s.log, AppID: s.cfg.AppID, Login: s.botLogin(ctx), Now: s.cfg.Now}
	completed := 0
	for _, pr := range prs {
		sha := pr.GetHead().GetSHA()
		runs, _, err := gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, &github.ListCheckRunsOptions{
			CheckName: github.String(s.cfg.CheckName), AppID: github.Int64(s.cfg.AppID),
			Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: 100},
		})
		if err != nil {
			return completed, fmt.Errorf("list check runs of %s: %w", sha7(sha), err)
		}
		for _, cr := range runs.CheckRuns {
			if cr.GetStatus() == "completed" || cr.GetName() != s.cfg.CheckName || !cr.GetStartedAt().Time.Before(cutoff) {
				continue
			}
			t := bot.Target{Owner: owner, Repo: repo, HeadSHA: sha, PR: pr.GetNumber(), CheckName: s.cfg.CheckName,
				DetailsURL: s.cfg.DetailsURL, ExternalID: strconv.Itoa(pr.GetNumber())}
			if err := pub.Fail(ctx, t, cr.GetID(), errStale); err != nil {
				return completed, err
			}
			completed++
			s.m.reconciled.Inc()
			s.log.Info("completed a stale check run", "repo", owner+"/"+repo, "pr", pr.GetNumber(), "check_run", cr.GetID(),
				"started_at", cr.GetStartedAt().Time)
		}
	}
	return completed, nil
}
