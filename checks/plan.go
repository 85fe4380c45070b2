package checks

import (
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// ExistingComment is a review comment already on the pull request. Only
// those whose body carries our marker are ours; the caller should also
// pass only comments written by rbacguard's own account.
type ExistingComment struct {
	ID   int64
	Path string
	Line int // 0 when GitHub reports the comment as outdated
	Body string
}

// CommentEdit replaces the body of an existing comment.
type CommentEdit struct {
	ID   int64
	Body string
}

// Plan is what to do to bring the pull request's comments in line with
// the findings of the new head.
type Plan struct {
	Create  []Comment
	Update  []CommentEdit
	Resolve []CommentEdit // struck through; still ours, never resolved twice
}

// empty reports whether the plan does nothing.
func (p Plan) empty() bool {
	return len(p.Create) == 0 && len(p.Update) == 0 && len(p.Resolve) == 0
}

// PlanComments compares the comments we want with the ones already
// posted, so that a re-run edits instead of piling up duplicates:
//   - a wanted comment whose findings an existing comment of ours already
//     speaks for is kept when the body is the same and updated otherwise
//     (this also reopens a comment resolved earlier);
//   - a wanted comment with no such comment is created;
//   - a comment of ours whose findings are no longer wanted is resolved:
//     its first line struck through and a note added, marker kept. One that
//     is resolved already is left alone.
//
// Applying the plan and planning again with the same findings gives an
// empty plan. A comment whose finding moved to another line is updated
// where it is: GitHub moves a comment along with its line when it can.
func PlanComments(existing []ExistingComment, want []Comment, headSHA string) Plan {
	type ours struct {
		ExistingComment
		ids      []string
		key      string
		resolved bool
		used     bool
	}
	var mine []*ours
	for _, e := range existing {
		ids, ok := ParseMarker(e.Body)
		if !ok {
			continue
		}
		mine = append(mine, &ours{ExistingComment: e, ids: ids, key: idKey(ids), resolved: isResolved(e.Body)})
	}
	slices.SortStableFunc(mine, func(a, b *ours) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})

	// better reports whether candidate a beats b for the wanted comment w:
	// same place first, then not resolved, then more findings in common,
	// then the oldest comment.
	better := func(w Comment, a, b *ours) bool {
		if b == nil {
			return true
		}
		aAt := a.Path == w.Path && a.Line == w.Line
		bAt := b.Path == w.Path && b.Line == w.Line
		if aAt != bAt {
			return aAt
		}
		if a.resolved != b.resolved {
			return !a.resolved
		}
		if oa, ob := overlap(a.ids, w.FindingIDs), overlap(b.ids, w.FindingIDs); oa != ob {
			return oa > ob
		}
		return a.ID < b.ID
	}

	// Two passes: exact id sets first, so that once a plan is applied every
	// wanted comment finds its own comment again; then any overlap.
	match := make([]*ours, len(want))
	for pass := range 2 {
		for i, w := range want {
			if match[i] != nil {
				continue
			}
			key := idKey(w.FindingIDs)
			var best *ours
			for _, m := range mine {
				if m.used {
					continue
				}
				if pass == 0 && m.key != key || pass == 1 && overlap(m.ids, w.FindingIDs) == 0 {
					continue
				}
				if better(w, m, best) {
					best = m
				}
			}
			if best != nil {
				best.used = true
				match[i] = best
			}
		}
	}

	var p Plan
	for i, w := range want {
		switch m := match[i]; {
		case m == nil:
			p.Create = append(p.Create, w)
		case m.Body != w.Body:
			p.Update = append(p.Update, CommentEdit{ID: m.ID, Body: w.Body})
		}
	}
	for _, m := range mine {
		if !m.used && !m.resolved {
			p.Resolve = append(p.Resolve, CommentEdit{ID: m.ID, Body: resolvedBody(m.Body, headSHA)})
		}
	}
	return p
}

func idKey(ids []string) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

func overlap(a, b []string) int {
	n := 0
	for _, x := range a {
		if slices.Contains(b, x) {
			n++
		}
	}
	return n
}

func isResolved(body string) bool {
	for _, l := range strings.Split(body, "\n") {
		if strings.TrimSpace(l) == resolvedMarker {
			return true
		}
	}
	return false
}

// resolvedBody strikes the first line through and adds the resolution
// note and the resolved marker just above the id marker.
func resolvedBody(body, headSHA string) string {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	if strings.TrimSpace(lines[0]) != "" {
		lines[0] = "~~" + strings.TrimSpace(lines[0]) + "~~"
	}
	note := "✅ Resolved: this finding no longer applies."
	if headSHA != "" {
		note = "✅ Resolved in " + report.ShortRev(headSHA) + ": this finding no longer applies."
	}
	at := len(lines)
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), markerPrefix) {
			at = i
			break
		}
	}
	out := slices.Concat(lines[:at], []string{note, "", resolvedMarker}, lines[at:])
	return strings.Join(out, "\n")
}
