package app

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"
)

// Sweep makes GitHub's state of the queue true again, for every open pull
// request of every installation (bounded by ReconcileMaxRepos and 100
// open pull requests per repository):
//   - a head with no run of ours (a delivery lost, refused while the
//     queue was full, or accepted by a replica that died before it
//     created the run) is enqueued;
//   - a run of ours queued or in progress that no live replica holds (its
//     lease expired or was released; see lease.go) is taken over and
//     enqueued;
//   - runs held by a live replica, this one included, are left alone.
//
// It returns how many jobs it enqueued. Several replicas may sweep at
// once: lease.go says how they keep out of each other's way. Rate limits
// are waited out by the retry transport; a sweep that runs out of them
// stops and the next one continues.
func (s *Server) Sweep(ctx context.Context) (int, error) {
	enqueued, repos := 0, 0
	opts := &github.ListOptions{PerPage: 100}
	for {
		insts, resp, err := s.cl.app().Apps.ListInstallations(ctx, opts)
		if err != nil {
			return enqueued, fmt.Errorf("list installations: %w", err)
		}
		for _, in := range insts {
			n, visited, err := s.sweepInstallation(ctx, in, s.cfg.ReconcileMaxRepos-repos)
			enqueued += n
			repos += visited
			if err != nil {
				return enqueued, err
			}
			if repos >= s.cfg.ReconcileMaxRepos {
				return enqueued, nil
			}
		}
		if resp.NextPage == 0 {
			return enqueued, nil
		}
		opts.Page = resp.NextPage
	}
}

func (s *Server) sweepInstallation(ctx context.Context, in *github.Installation, budget int) (enqueued, visited int, err error) {
	gh := s.cl.installation(in.GetID())
	opts := &github.ListOptions{PerPage: 100}
	for {
		list, resp, err := gh.Apps.ListRepos(ctx, opts)
		if err != nil {
			return enqueued, visited, fmt.Errorf("list repositories of installation %d: %w", in.GetID(), err)
		}
		for _, r := range list.Repositories {
			if visited >= budget {
				return enqueued, visited, nil
			}
			visited++
			n, err := s.sweepRepo(ctx, gh, in, r)
			enqueued += n
			if err != nil {
				if ctx.Err() != nil {
					return enqueued, visited, err
				}
				s.log.Warn("sweep repository", "repo", r.GetFullName(), "installation_id", in.GetID(), "err", err)
			}
		}
		if resp.NextPage == 0 {
			return enqueued, visited, nil
		}
		opts.Page = resp.NextPage
	}
}

func (s *Server) sweepRepo(ctx context.Context, gh *github.Client, in *github.Installation, r *github.Repository) (int, error) {
	owner, repo := r.GetOwner().GetLogin(), r.GetName()
	if err := validRepo(owner, repo); err != nil {
		return 0, err
	}
	prs, _, err := gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		return 0, fmt.Errorf("list open pull requests: %w", err)
	}
	enqueued := 0
	for _, pr := range prs {
		j, err := s.newJob("sweep", in, r, pr.GetNumber(), pr.GetHead().GetSHA())
		if err != nil {
			s.log.Warn("sweep: skipping a pull request GitHub describes oddly", "repo", owner+"/"+repo, "pr", pr.GetNumber(), "err", err)
			continue
		}
		if isSHA(pr.GetBase().GetSHA()) {
			j.baseSHA = pr.GetBase().GetSHA()
		}
		if s.q.held(j.prKey(), j.headSHA) {
			continue
		}
		take, runID, err := s.claim(ctx, gh, j)
		if err != nil {
			return enqueued, err
		}
		if !take {
			continue
		}
		j.rerun = true // the head may be in the done cache from an earlier life
		j.setRun(runID, false)
		switch o := s.q.offer(ctx, j, 0); o {
		case outcomeAccepted:
			enqueued++
			s.m.reconciled.Inc()
			s.log.Info("sweep: enqueued", "repo", owner+"/"+repo, "pr", j.pr, "head", sha7(j.headSHA), "check_run", runID)
			if runID != 0 {
				close(j.announced) // the run exists and is leased to us
			} else {
				s.announce(j)
			}
		default:
			// Full or shutting down: give the lease back for the next
			// sweep, here or elsewhere.
			if runID != 0 {
				s.release(j, s.jobLog(j))
			}
		}
	}
	return enqueued, nil
}

// claim decides whether this replica takes j's head over: take with
// runID 0 when the head has no run of ours (the job creates it), take
// with the run when its lease is free, expired or a previous life of this
// replica's, after writing our lease and reading it back.
func (s *Server) claim(ctx context.Context, gh *github.Client, j *job) (take bool, runID int64, err error) {
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, j.owner, j.repo, j.headSHA, &github.ListCheckRunsOptions{
		CheckName: github.String(s.cfg.CheckName), AppID: github.Int64(s.cfg.AppID), Filter: github.String("latest"),
	})
	if err != nil {
		return false, 0, fmt.Errorf("list check runs of %s: %w", sha7(j.headSHA), err)
	}
	var cr *github.CheckRun
	for _, c := range list.CheckRuns {
		if c.GetName() == s.cfg.CheckName {
			cr = c
			break
		}
	}
	if cr == nil {
		// Create the run, leased, before taking the job, so that another
		// replica's sweep finds it held; if one created a run at the same
		// moment, the newest wins (stillMine).
		id, _, err := s.publisher(ctx, gh, nil).Ensure(ctx, s.target(j, s.myLease(j.pr)), "queued",
			output("Queued", "Found by the sweep of "+s.cfg.ReplicaID+": no check run had been created for this head."))
		if err != nil {
			return false, 0, err
		}
		j.setRun(id, false)
		mine, err := s.stillMine(ctx, gh, j)
		if err != nil || !mine {
			s.dropDuplicate(gh, j)
			return false, 0, err
		}
		return true, id, nil
	}
	if cr.GetStatus() == "completed" {
		return false, 0, nil
	}
	now := s.cfg.now()
	l, _ := parseLease(cr.GetExternalID())
	switch {
	case l.holder == s.cfg.ReplicaID:
		// Ours from before a restart: this process does not hold it
		// (q.held said so), so nobody does.
	case l.holder != "" && !l.expired(now):
		return false, 0, nil
	case l.holder == "" && cr.GetStatus() == "in_progress" && now.Sub(cr.GetStartedAt().Time) < s.cfg.StaleAfter:
		// No lease: an older version's run, maybe still live.
		return false, 0, nil
	}
	j.setRun(cr.GetID(), false)
	if err := s.setRun(ctx, gh, j, "queued", s.myLease(j.pr), "Queued", "Taken over by "+s.cfg.ReplicaID+": the replica that held this check is gone."); err != nil {
		return false, 0, fmt.Errorf("lease check run %d: %w", cr.GetID(), err)
	}
	mine, err := s.stillMine(ctx, gh, j)
	if err != nil || !mine {
		return false, 0, err
	}
	return true, cr.GetID(), nil
}

// dropDuplicate concludes j's run cancelled when it is not the newest run
// of the name on the head (two replicas created one at once): GitHub shows
// only the newest, which the other replica completes.
func (s *Server) dropDuplicate(gh *github.Client, j *job) {
	ctx, cancel := s.failCtx()
	defer cancel()
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, j.owner, j.repo, j.headSHA, &github.ListCheckRunsOptions{
		CheckName: github.String(s.cfg.CheckName), AppID: github.Int64(s.cfg.AppID), Filter: github.String("latest"),
	})
	if err != nil || len(list.CheckRuns) == 0 || list.CheckRuns[0].GetID() == j.runID {
		return
	}
	_, _, err = gh.Checks.UpdateCheckRun(ctx, j.owner, j.repo, j.runID, github.UpdateCheckRunOptions{
		Name: s.cfg.CheckName, Conclusion: github.String("cancelled"), ExternalID: github.String(lease{pr: j.pr}.String()),
		Output: output("Duplicate", fmt.Sprintf("Another replica created run %d for this head at the same moment; that run is the check.", list.CheckRuns[0].GetID())),
	})
	if err != nil {
		s.log.Warn("cannot cancel a duplicate check run", "check_run", j.runID, "err", err)
	}
}
