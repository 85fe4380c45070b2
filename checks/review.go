package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// MaxReviewComments is how many comments one review carries. GitHub
// documents no cap, but content creation is rate limited and reviewdog
// settled on 30 after trouble with more; the rest go in further reviews.
const MaxReviewComments = 30

// maxReviewBody keeps a review body under GitHub's 65,536 characters.
const maxReviewBody = 60000

// Review is one review to post: a body (the first review's only) and at
// most MaxReviewComments comments, each on a line GitHub accepts.
type Review struct {
	Body     string
	Comments []Comment
}

// ReviewPlan is everything that brings a pull request's review comments in
// line with a report: the reviews to post, the comments to rewrite, and
// the comments to strike through because their finding no longer applies.
type ReviewPlan struct {
	Reviews []Review
	Update  []CommentEdit
	Resolve []CommentEdit
}

// Reviews plans the review comments of r for a pull request whose patches
// are d and whose comments of ours are existing: one comment per changed
// line with findings, validated against d (one comment off the diff makes
// GitHub reject the whole review, so none is planned there; its findings
// stay annotations), split into reviews, the first introducing them and
// listing the findings not on a changed line. A comment whose finding the
// report still has is never struck through, even a duplicate.
func Reviews(r *report.Report, d Diff, existing []ExistingComment, headSHA, checkName string) ReviewPlan {
	inline, rest := ReviewComments(r, d)
	plan := PlanComments(existing, inline, headSHA)
	var create []Comment
	for _, c := range plan.Create {
		if c.Line >= 1 && d.Commentable(c.Path, c.Line) {
			create = append(create, c)
		}
	}
	out := ReviewPlan{Update: plan.Update, Resolve: stillApplies(plan.Resolve, existing, r)}
	for i := 0; i < len(create); i += MaxReviewComments {
		rv := Review{Comments: create[i:min(i+MaxReviewComments, len(create))]}
		if i == 0 {
			rv.Body = reviewBody(checkName, len(create), rest)
		}
		out.Reviews = append(out.Reviews, rv)
	}
	return out
}

// stillApplies drops from the comments to resolve those carrying a
// finding the report still has: a duplicate of a live comment (left by a
// retried POST, or by two replicas) must not read "no longer applies"
// while the finding stands. Such duplicates are left as they are.
func stillApplies(resolve []CommentEdit, existing []ExistingComment, r *report.Report) []CommentEdit {
	live := map[string]bool{}
	for _, f := range r.Findings {
		// As ReviewComments chooses what to comment on: an exempted
		// finding's comment may be resolved.
		if f.Exemption == nil && f.Severity.AtLeast(report.Low) {
			live[f.ID] = true
		}
	}
	body := map[int64]string{}
	for _, e := range existing {
		body[e.ID] = e.Body
	}
	var out []CommentEdit
	for _, e := range resolve {
		ids, _ := ParseMarker(body[e.ID])
		if slices.ContainsFunc(ids, func(id string) bool { return live[id] }) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// reviewBody introduces a review: how many comments follow, and the
// findings that could not be put on a changed line (rest), which the
// check run lists in full.
func reviewBody(checkName string, inline int, rest []report.Finding) string {
	var b strings.Builder
	places := "places"
	if inline == 1 {
		places = "place"
	}
	fmt.Fprintf(&b, "**%s** found %d %s on lines this pull request changes; details below.", checkName, inline, places)
	if len(rest) > 0 {
		are := "findings are"
		if len(rest) == 1 {
			are = "finding is"
		}
		fmt.Fprintf(&b, "\n\n%d more %s not on a changed line (see the **%s** check run for all of them):\n", len(rest), are, checkName)
		for i, f := range rest {
			line := fmt.Sprintf("- **%s** %s", f.Severity, oneLine(f.Message))
			if f.Location.Path != "" {
				line += " (`" + strings.ReplaceAll(f.Location.String(), "`", "'") + "`)"
			}
			if b.Len()+len(line)+200 > maxReviewBody {
				fmt.Fprintf(&b, "- … and %d more\n", len(rest)-i)
				break
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
