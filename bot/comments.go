package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff/report"
)

type commentStats struct {
	created, updated, resolved int
	fallback, denied           bool
	reason                     string
	err                        error // why the fallback
}

// syncComments brings the pull request's review comments in line with
// the report. It never fails the run: whatever goes wrong, the findings
// are in the check run, so errors become a fallback with a reason.
func (p *Publisher) syncComments(ctx context.Context, t Target, r *report.Report, patches map[string]string) commentStats {
	var st commentStats
	fail := func(what string, err error) commentStats {
		st.fallback, st.err = true, err
		switch {
		case IsPermissionError(err):
			st.denied = true
			st.reason = "the token may not write to this pull request"
		case isUnprocessable(err):
			st.reason = "GitHub rejected the review"
		default:
			st.reason = what + " failed"
		}
		p.log().Warn("review comments fall back to annotations", "repo", t.Owner+"/"+t.Repo, "pr", t.PR, "step", what, "err", err)
		return st
	}
	d, err := checks.ParsePatches(patches)
	if err != nil {
		return fail("reading the pull request's patches", err)
	}
	existing, err := p.ourComments(ctx, t)
	if err != nil {
		return fail("listing review comments", err)
	}
	plan := checks.Reviews(r, d, existing, t.HeadSHA, t.CheckName)
	for _, rv := range plan.Reviews {
		req := &github.PullRequestReviewRequest{
			CommitID: github.String(t.HeadSHA),
			Event:    github.String("COMMENT"),
		}
		if rv.Body != "" {
			req.Body = github.String(rv.Body)
		}
		for _, c := range rv.Comments {
			req.Comments = append(req.Comments, &github.DraftReviewComment{
				Path: github.String(c.Path), Line: github.Int(c.Line), Side: github.String("RIGHT"), Body: github.String(c.Body),
			})
		}
		if err := p.createReview(ctx, t, req, rv.Comments); err != nil {
			return fail("creating the review", err)
		}
		st.created += len(rv.Comments)
	}
	for _, e := range plan.Update {
		if _, _, err := p.Client.PullRequests.EditComment(ctx, t.Owner, t.Repo, e.ID, &github.PullRequestComment{Body: github.String(e.Body)}); err != nil {
			return fail("updating a review comment", err)
		}
		st.updated++
	}
	for _, e := range plan.Resolve {
		if _, _, err := p.Client.PullRequests.EditComment(ctx, t.Owner, t.Repo, e.ID, &github.PullRequestComment{Body: github.String(e.Body)}); err != nil {
			return fail("resolving a review comment", err)
		}
		st.resolved++
	}
	return st
}

// createReview posts one review. A review is all or nothing, so when
// GitHub answers 5xx or not at all (it may have stored it), the comments
// are looked for by their markers: all there, it was created; none, it is
// posted once more. Never blindly twice: that doubles every comment.
func (p *Publisher) createReview(ctx context.Context, t Target, req *github.PullRequestReviewRequest, part []checks.Comment) error {
	for attempt := 1; ; attempt++ {
		_, _, err := p.Client.PullRequests.CreateReview(ctx, t.Owner, t.Repo, t.PR, req)
		if err == nil || attempt >= 2 || !MaybeApplied(err) || ctx.Err() != nil {
			return err
		}
		have, lerr := p.ourComments(ctx, t)
		if lerr != nil {
			return errors.Join(err, lerr)
		}
		found := 0
		for _, c := range part {
			if hasComment(have, c) {
				found++
			}
		}
		if found == len(part) {
			p.log().Info("the review was created although GitHub answered an error", "repo", t.Owner+"/"+t.Repo, "pr", t.PR, "err", err)
			return nil
		}
		if found > 0 {
			return fmt.Errorf("%w (and %d of its %d comments exist)", err, found, len(part))
		}
	}
}

// hasComment reports whether one of ours sits where c goes with c's marker.
func hasComment(have []checks.ExistingComment, c checks.Comment) bool {
	want, _ := checks.ParseMarker(c.Body)
	for _, h := range have {
		ids, ok := checks.ParseMarker(h.Body)
		if ok && h.Path == c.Path && h.Line == c.Line && slices.Equal(ids, want) {
			return true
		}
	}
	return false
}

// ourComments lists the pull request's review comments written by our
// account, with GitHub's line (0 when outdated).
func (p *Publisher) ourComments(ctx context.Context, t Target) ([]checks.ExistingComment, error) {
	var out []checks.ExistingComment
	opts := &github.PullRequestListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := p.Client.PullRequests.ListComments(ctx, t.Owner, t.Repo, t.PR, opts)
		if err != nil {
			return nil, fmt.Errorf("list review comments of %s/%s#%d: %w", t.Owner, t.Repo, t.PR, err)
		}
		for _, c := range page {
			if !p.isOurs(c.GetUser()) {
				continue
			}
			out = append(out, checks.ExistingComment{ID: c.GetID(), Path: c.GetPath(), Line: c.GetLine(), Body: c.GetBody()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (p *Publisher) isOurs(u *github.User) bool {
	if p.Login != "" {
		return strings.EqualFold(u.GetLogin(), p.Login)
	}
	return u.GetType() == "Bot"
}
