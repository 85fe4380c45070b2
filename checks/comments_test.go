package checks

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/report"
)

func TestParsePatches(t *testing.T) {
	files := map[string]string{
		// Context, removed and added lines in two hunks.
		"two-hunks.yaml": "@@ -1,4 +1,4 @@ kind: Role\n" +
			" a\n" + // new 1, context
			"-b\n" +
			"+B\n" + // new 2, added
			" c\n" + // new 3
			" d\n" + // new 4
			"@@ -20,3 +20,4 @@\n" +
			" t\n" + // new 20
			"+u\n" + // new 21
			"+v\n" + // new 22
			" w", // new 23
		"new.yaml":     "@@ -0,0 +1,3 @@\n+x\n+y\n+z",
		"deleted.yaml": "@@ -1,2 +0,0 @@\n-x\n-y",
		"large.yaml":   "",
		// "\ No newline" lines are not file lines; a blank line is a
		// context line whose space was trimmed.
		"no-newline.yaml": "@@ -1,3 +1,3 @@\n a\n\n-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file",
		// More body lines than the header counts: the extra ones are not
		// in the hunk.
		"short-header.yaml": "@@ -1 +1 @@\n-a\n+b\n+c",
	}
	d, err := ParsePatches(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path               string
		line               int
		commentable, added bool
	}{
		{"two-hunks.yaml", 1, true, false},
		{"two-hunks.yaml", 2, true, true},
		{"two-hunks.yaml", 3, true, false},
		{"two-hunks.yaml", 4, true, false},
		{"two-hunks.yaml", 5, false, false}, // between hunks
		{"two-hunks.yaml", 19, false, false},
		{"two-hunks.yaml", 20, true, false},
		{"two-hunks.yaml", 21, true, true},
		{"two-hunks.yaml", 22, true, true},
		{"two-hunks.yaml", 23, true, false},
		{"two-hunks.yaml", 24, false, false},
		{"two-hunks.yaml", 0, false, false},
		{"new.yaml", 1, true, true},
		{"new.yaml", 3, true, true},
		{"new.yaml", 4, false, false},
		{"deleted.yaml", 1, false, false},
		{"large.yaml", 1, false, false},
		{"no-newline.yaml", 1, true, false},
		{"no-newline.yaml", 2, true, false},
		{"no-newline.yaml", 3, true, true},
		{"no-newline.yaml", 4, false, false},
		{"short-header.yaml", 1, true, true},
		{"short-header.yaml", 2, false, false},
		{"not-in-pr.yaml", 1, false, false},
	} {
		t.Run(fmt.Sprintf("%s:%d", tc.path, tc.line), func(t *testing.T) {
			if got := d.Commentable(tc.path, tc.line); got != tc.commentable {
				t.Errorf("Commentable = %v, want %v", got, tc.commentable)
			}
			if got := d.added(tc.path, tc.line); got != tc.added {
				t.Errorf("Added = %v, want %v", got, tc.added)
			}
		})
	}
	if text, _ := d.text("two-hunks.yaml", 2); text != "B" {
		t.Errorf("text of two-hunks.yaml:2 = %q, want B", text)
	}
	var zero Diff
	if zero.Commentable("a", 1) || zero.added("a", 1) {
		t.Error("the zero Diff has commentable lines")
	}
}

func TestParsePatches_Errors(t *testing.T) {
	for name, patch := range map[string]string{
		"no hunk header": "+a\n+b",
		"bad header":     "@@ -1,x +1 @@\n+a",
		"bad line":       "@@ -1 +1 @@\n*a",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParsePatches(map[string]string{"ok.yaml": "@@ -1 +1 @@\n+a", "bad.yaml": patch})
			if err == nil || !strings.Contains(err.Error(), "bad.yaml") {
				t.Errorf("err = %v, want an error naming bad.yaml", err)
			}
		})
	}
}

func TestReviewComments(t *testing.T) {
	d, err := ParsePatches(patches())
	if err != nil {
		t.Fatal(err)
	}
	r := fullReport()
	inline, rest := ReviewComments(r, d)
	placed := map[string]bool{}
	for _, c := range inline {
		ids, ok := ParseMarker(c.Body)
		if !ok || !slices.Equal(ids, c.FindingIDs) {
			t.Errorf("%s:%d: marker ids %v, FindingIDs %v", c.Path, c.Line, ids, c.FindingIDs)
		}
		if !strings.HasSuffix(c.Body, Marker(c.FindingIDs)+"\n") {
			t.Errorf("%s:%d: body does not end with its marker", c.Path, c.Line)
		}
		if !d.Commentable(c.Path, c.Line) {
			t.Errorf("%s:%d: comment on a line outside the diff", c.Path, c.Line)
		}
		for _, id := range c.FindingIDs {
			placed[id] = true
		}
	}
	inRest := map[string]bool{}
	for _, f := range rest {
		inRest[f.ID] = true
	}
	for _, f := range r.Findings {
		eligible := f.Exemption == nil && f.Severity.AtLeast(report.Low)
		switch {
		case !eligible && (placed[f.ID] || inRest[f.ID]):
			t.Errorf("%s %s (%s): exempted or info finding placed", f.Severity, f.Kind, f.Location)
		case eligible && placed[f.ID] == inRest[f.ID]:
			t.Errorf("%s %s (%s): placed %v, in rest %v; want exactly one", f.Severity, f.Kind, f.Location, placed[f.ID], inRest[f.ID])
		case placed[f.ID] && !d.Commentable(f.Location.Path, f.Location.Line):
			t.Errorf("%s: placed off the diff", f.Location)
		}
	}
	// The same line holds one comment, most severe first.
	var roleComments int
	for _, c := range inline {
		if c.Path == "overlays/prod/patch-role.yaml" {
			roleComments++
			if hi, med := strings.Index(c.Body, "**HIGH**"), strings.Index(c.Body, "**MEDIUM**"); hi < 0 || med < hi {
				t.Errorf("patch-role.yaml comment is not severity first:\n%s", c.Body)
			}
		}
	}
	if roleComments != 1 {
		t.Errorf("%d comments on patch-role.yaml:9, want 1", roleComments)
	}
}

func TestReviewComments_Suggestions(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		kind       report.Kind
		want       string // "" = no fix section
	}{
		{"automount", "      automountServiceAccountToken: true", report.TokenAutomount, "```suggestion\n      automountServiceAccountToken: false\n```"},
		{"automount with comment", "  automountServiceAccountToken: true # x", report.TokenAutomount, "```suggestion\n  automountServiceAccountToken: false # x\n```"},
		{"automount quoted", `  automountServiceAccountToken: "true"`, report.TokenAutomount, "```suggestion\n  automountServiceAccountToken: false\n```"},
		{"automount already false", "  automountServiceAccountToken: false", report.TokenAutomount, ""},
		{"automount on another kind", "  automountServiceAccountToken: true", report.RBACIncrease, ""},
		{"wildcard verbs", `  verbs: ["*"]`, report.RBACIncrease, "List only the verbs the workload needs"},
		{"wildcard verbs single quotes", `  - verbs: ['get', '*']`, report.RBACIncrease, "List only the verbs the workload needs"},
		{"wildcard verbs bare", `  verbs: [*]`, report.RBACIncrease, "List only the verbs the workload needs"},
		{"explicit verbs", `  verbs: ["get", "list"]`, report.RBACIncrease, ""},
		{"wildcard resources", `  resources: ["*"]`, report.RBACIncrease, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := withID(report.Finding{Kind: tc.kind, Severity: report.High, Message: "m", Location: report.Location{Path: "a.yaml", Line: 1}})
			r := &report.Report{Findings: []report.Finding{f}}
			d, err := ParsePatches(map[string]string{"a.yaml": "@@ -0,0 +1 @@\n+" + tc.line})
			if err != nil {
				t.Fatal(err)
			}
			inline, _ := ReviewComments(r, d)
			if len(inline) != 1 {
				t.Fatalf("%d comments, want 1", len(inline))
			}
			body := inline[0].Body
			if tc.want == "" {
				if strings.Contains(body, "Suggested fix") {
					t.Errorf("unexpected fix:\n%s", body)
				}
				return
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("body lacks %q:\n%s", tc.want, body)
			}
			if strings.Contains(tc.want, "List only") && strings.Contains(body, "```suggestion") {
				t.Errorf("verbs advice must not be a suggestion block:\n%s", body)
			}
		})
	}
}

func TestReviewComments_SplitsLongBodies(t *testing.T) {
	var fs []report.Finding
	for i := range 3000 {
		fs = append(fs, withID(report.Finding{
			Kind: report.RBACIncrease, Severity: report.High, Subject: sa("ns", "a"), Scope: nsScope("ns"),
			Permission: perm("get", "", fmt.Sprintf("things%d", i)),
			Location:   report.Location{Path: "a.yaml", Line: 1},
			Message:    fmt.Sprintf("ServiceAccount ns/a can now get things%d in namespace ns", i),
			Risk:       strings.Repeat("r", 40),
		}))
	}
	d, _ := ParsePatches(map[string]string{"a.yaml": "@@ -0,0 +1 @@\n+x"})
	inline, _ := ReviewComments(&report.Report{Findings: fs}, d)
	if len(inline) < 2 {
		t.Fatalf("%d comments, want the findings split over several", len(inline))
	}
	var ids []string
	for _, c := range inline {
		if len(c.Body) > 65536 {
			t.Errorf("body of %d bytes", len(c.Body))
		}
		ids = append(ids, c.FindingIDs...)
	}
	if len(ids) != len(fs) {
		t.Errorf("%d finding ids in comments, want %d", len(ids), len(fs))
	}
}

func TestParseMarker(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		ids  []string
		ok   bool
	}{
		{"round trip", "**HIGH** x\n\n" + Marker([]string{"0a1b", "2c3d"}) + "\n", []string{"0a1b", "2c3d"}, true},
		{"one id", Marker([]string{"abc"}), []string{"abc"}, true},
		{"crlf", "x\r\n<!-- rbacguard:abc -->\r\n", []string{"abc"}, true},
		{"last marker wins", "<!-- rbacguard:old -->\ntext\n<!-- rbacguard:new -->", []string{"new"}, true},
		{"resolved comment keeps its ids", resolvedBody("**HIGH** x\n\n"+Marker([]string{"abc"})+"\n", headSHA), []string{"abc"}, true},
		{"no marker", "just a comment", nil, false},
		{"quoted in a reply", "> <!-- rbacguard:abc -->\nI disagree", nil, false},
		{"inside a line", "see <!-- rbacguard:abc --> here", nil, false},
		{"empty ids", "<!-- rbacguard: -->", nil, false},
		{"empty id in list", "<!-- rbacguard:a,,b -->", nil, false},
		{"bad characters", "<!-- rbacguard:a b -->", nil, false},
		{"other tool", "<!-- __reviewdog__:abc -->", nil, false},
		{"resolved marker alone", resolvedMarker, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, ok := ParseMarker(tc.body)
			if ok != tc.ok || !slices.Equal(ids, tc.ids) {
				t.Errorf("ParseMarker = %v, %v; want %v, %v", ids, ok, tc.ids, tc.ok)
			}
		})
	}
}

// apply plays a plan against the comments on a pull request, as GitHub
// would: created comments get new ids, edits replace bodies.
func apply(existing []ExistingComment, p Plan, nextID *int64) []ExistingComment {
	out := slices.Clone(existing)
	edit := func(e CommentEdit) {
		for i := range out {
			if out[i].ID == e.ID {
				out[i].Body = e.Body
			}
		}
	}
	for _, e := range p.Update {
		edit(e)
	}
	for _, e := range p.Resolve {
		edit(e)
	}
	for _, c := range p.Create {
		*nextID++
		out = append(out, ExistingComment{ID: *nextID, Path: c.Path, Line: c.Line, Body: c.Body})
	}
	return out
}

func body(first string, ids ...string) string {
	return first + "\n\nRisk: r\n\n" + Marker(ids) + "\n"
}

func TestPlanComments(t *testing.T) {
	human := ExistingComment{ID: 1, Path: "a.yaml", Line: 3, Body: "Why is this needed?"}
	quoting := ExistingComment{ID: 2, Path: "a.yaml", Line: 3, Body: "> <!-- rbacguard:aaa -->\nquoted"}
	same := ExistingComment{ID: 10, Path: "a.yaml", Line: 3, Body: body("**HIGH** same", "aaa")}
	changed := ExistingComment{ID: 11, Path: "a.yaml", Line: 5, Body: body("**HIGH** old text", "bbb")}
	stale := ExistingComment{ID: 12, Path: "a.yaml", Line: 7, Body: body("**LOW** gone", "ccc")}
	alreadyResolved := ExistingComment{ID: 13, Path: "a.yaml", Line: 9, Body: resolvedBody(body("**LOW** gone long ago", "ddd"), "0123456789")}
	reopened := ExistingComment{ID: 14, Path: "b.yaml", Line: 1, Body: resolvedBody(body("**HIGH** back again", "eee"), "0123456789")}
	partial := ExistingComment{ID: 15, Path: "c.yaml", Line: 2, Body: body("**HIGH** one of two", "fff")}
	existing := []ExistingComment{human, quoting, same, changed, stale, alreadyResolved, reopened, partial}

	want := []Comment{
		{Path: "a.yaml", Line: 3, Body: same.Body, FindingIDs: []string{"aaa"}},
		{Path: "a.yaml", Line: 5, Body: body("**HIGH** new text", "bbb"), FindingIDs: []string{"bbb"}},
		{Path: "b.yaml", Line: 1, Body: body("**HIGH** back again", "eee"), FindingIDs: []string{"eee"}},
		{Path: "c.yaml", Line: 2, Body: body("**HIGH** one of two, and two", "fff", "ggg"), FindingIDs: []string{"fff", "ggg"}},
		{Path: "d.yaml", Line: 4, Body: body("**MEDIUM** brand new", "hhh"), FindingIDs: []string{"hhh"}},
	}
	p := PlanComments(existing, want, headSHA)

	wantPlan := Plan{
		Create: []Comment{want[4]},
		Update: []CommentEdit{
			{ID: 11, Body: want[1].Body},
			{ID: 14, Body: want[2].Body},
			{ID: 15, Body: want[3].Body},
		},
		Resolve: []CommentEdit{{ID: 12, Body: "~~**LOW** gone~~\n\nRisk: r\n\n✅ Resolved in d4e5f6a: this finding no longer applies.\n\n" + resolvedMarker + "\n" + Marker([]string{"ccc"}) + "\n"}},
	}
	if d := cmp.Diff(wantPlan, p); d != "" {
		t.Fatalf("plan (-want +got):\n%s", d)
	}

	// Idempotence: after applying the plan, the same findings plan nothing,
	// and a resolved comment is never resolved twice.
	next := int64(100)
	after := apply(existing, p, &next)
	if p2 := PlanComments(after, want, headSHA); !p2.empty() {
		t.Errorf("second plan is not empty: %+v", p2)
	}
	// Everything fixed: every live comment of ours is resolved once.
	p3 := PlanComments(after, nil, "feedface")
	var resolved []int64
	for _, e := range p3.Resolve {
		resolved = append(resolved, e.ID)
		if !strings.Contains(e.Body, "✅ Resolved in feedfac: this finding no longer applies.") {
			t.Errorf("resolve body of %d lacks the note:\n%s", e.ID, e.Body)
		}
	}
	if d := cmp.Diff([]int64{10, 11, 14, 15, 101}, resolved); d != "" {
		t.Errorf("resolved comments (-want +got):\n%s", d)
	}
	if len(p3.Create)+len(p3.Update) != 0 {
		t.Errorf("resolving everything creates or updates: %+v", p3)
	}
	after = apply(after, p3, &next)
	if p4 := PlanComments(after, nil, "feedface"); !p4.empty() {
		t.Errorf("resolving twice: %+v", p4)
	}
}

func TestPlanComments_EndToEnd(t *testing.T) {
	d, err := ParsePatches(patches())
	if err != nil {
		t.Fatal(err)
	}
	inline, _ := ReviewComments(fullReport(), d)
	next := int64(0)
	var onPR []ExistingComment
	p := PlanComments(onPR, inline, headSHA)
	if len(p.Create) != len(inline) || len(p.Update)+len(p.Resolve) != 0 {
		t.Fatalf("first run: %d creates of %d, %d updates, %d resolves", len(p.Create), len(inline), len(p.Update), len(p.Resolve))
	}
	onPR = apply(onPR, p, &next)
	if p := PlanComments(onPR, inline, headSHA); !p.empty() {
		t.Errorf("re-run with the same findings: %+v", p)
	}
	// The next push fixes the automount line: its comment is resolved,
	// the others stay.
	var fewer []Comment
	for _, c := range inline {
		if c.Path != "overlays/prod/deployment.yaml" || c.Line != 12 {
			fewer = append(fewer, c)
		}
	}
	p = PlanComments(onPR, fewer, "cafebabe00")
	if len(p.Resolve) != 1 || len(p.Create)+len(p.Update) != 0 {
		t.Fatalf("after a fix: %+v", p)
	}
	if first := strings.SplitN(p.Resolve[0].Body, "\n", 2)[0]; !strings.HasPrefix(first, "~~**HIGH**") || !strings.HasSuffix(first, "~~") {
		t.Errorf("first line not struck through: %q", first)
	}
	onPR = apply(onPR, p, &next)
	if p := PlanComments(onPR, fewer, "cafebabe00"); !p.empty() {
		t.Errorf("re-run after the fix: %+v", p)
	}
}
