package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/bot"
)

// A lease says which replica holds a check run and until when. It lives in
// the run's external_id, next to the pull request number the App has
// always stored there: "12" is free, "12;pod-7f9c;1764421200" is held by
// replica pod-7f9c until that Unix time. GitHub is the queue of record:
// every job has a run (queued while it waits, in_progress while it runs),
// and its lease tells the sweep of every replica whether someone is on it.
//
// The scheme, for replicas that know nothing of each other:
//   - a replica leases the run of every job it holds, queued, running or
//     waiting to be retried, and renews the lease (every LeaseFor/3)
//     while it holds it;
//   - the sweep takes only runs whose lease has expired (the holder died)
//     or was released (a shutdown left it queued), and runs without a
//     lease in progress for longer than StaleAfter (older versions);
//   - taking a run is read, check, write, verify: the sweep reads an
//     expired lease, writes its own, reads the run again and goes on only
//     if the lease it reads is its own;
//   - the worker verifies the lease once more right before it writes to
//     the pull request (Publish), and drops the job if another replica
//     holds it by then.
//
// GitHub has no conditional update, so two sweeps taking the same run in
// the same few milliseconds could both pass the first verification; the
// second one makes the first writer drop out before it publishes. Sweeps
// are jittered, so that window is seldom even approached, and the work
// itself is idempotent: one run per head (the newest of the name is the
// one every replica resolves), comments matched by marker.
type lease struct {
	pr     int
	holder string
	until  time.Time
}

func (l lease) String() string {
	if l.holder == "" {
		return strconv.Itoa(l.pr)
	}
	return fmt.Sprintf("%d;%s;%d", l.pr, l.holder, l.until.Unix())
}

// parseLease reads an external_id; ok is false when it names no pull
// request.
func parseLease(s string) (l lease, ok bool) {
	parts := strings.Split(s, ";")
	n, err := strconv.Atoi(parts[0])
	if err != nil || n <= 0 {
		return lease{}, false
	}
	l.pr = n
	if len(parts) == 3 {
		if u, err := strconv.ParseInt(parts[2], 10, 64); err == nil {
			l.holder, l.until = parts[1], time.Unix(u, 0)
		}
	}
	return l, true
}

// expired reports whether nobody holds the lease at now.
func (l lease) expired(now time.Time) bool { return l.holder == "" || !now.Before(l.until) }

// replicaID makes a name safe for a lease: [A-Za-z0-9._-], at most 63.
func replicaID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		}
		if b.Len() == 63 {
			break
		}
	}
	if b.Len() == 0 {
		return "rbacguard"
	}
	return b.String()
}

// myLease is this replica's lease on pull request pr from now.
func (s *Server) myLease(pr int) lease {
	return lease{pr: pr, holder: s.cfg.ReplicaID, until: s.cfg.now().Add(s.cfg.LeaseFor)}
}

// target is where job j publishes, with lease l in the external id.
func (s *Server) target(j *job, l lease) bot.Target {
	return bot.Target{
		Owner: j.owner, Repo: j.repo, HeadSHA: j.headSHA, PR: j.pr,
		CheckName: s.cfg.CheckName, DetailsURL: s.cfg.DetailsURL, ExternalID: l.String(),
	}
}

// stillMine verifies that j's run is still the one every replica
// resolves (the newest of the name on the head: two replicas creating a
// run at once leave two) and that no other replica leased it since.
func (s *Server) stillMine(ctx context.Context, gh *github.Client, j *job) (bool, error) {
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, j.owner, j.repo, j.headSHA, &github.ListCheckRunsOptions{
		CheckName: github.String(s.cfg.CheckName), AppID: github.Int64(s.cfg.AppID), Filter: github.String("latest"),
	})
	if err != nil {
		return false, fmt.Errorf("list check runs of %s: %w", sha7(j.headSHA), err)
	}
	for _, cr := range list.CheckRuns {
		if cr.GetName() != s.cfg.CheckName {
			continue
		}
		if cr.GetID() != j.runID || (cr.GetStatus() == "completed" && !j.runDone) {
			return false, nil // another replica's run, or it completed ours
		}
		l, _ := parseLease(cr.GetExternalID())
		return l.expired(s.cfg.now()) || l.holder == s.cfg.ReplicaID, nil
	}
	return false, nil
}

// setRun updates j's run: status queued or in_progress, the lease and a
// title and summary for the reader. A completed run is left completed.
func (s *Server) setRun(ctx context.Context, gh *github.Client, j *job, status string, l lease, title, summary string) error {
	_, _, err := gh.Checks.UpdateCheckRun(ctx, j.owner, j.repo, j.runID, github.UpdateCheckRunOptions{
		Name: s.cfg.CheckName, Status: github.String(status), ExternalID: github.String(l.String()),
		Output: &github.CheckRunOutput{Title: github.String(title), Summary: github.String(summary)},
	})
	return err
}
