package githubtest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// Limits of the Checks API (see doc.go for sources).
const (
	maxOutputChars        = 65535
	maxAnnotationsPerCall = 50
	maxAnnotationBytes    = 64 * 1024
	maxAnnotationTitle    = 255
	maxActions            = 3
)

var (
	checkStatuses    = []string{"queued", "in_progress", "completed"}
	checkConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"}
	annotationLevels = []string{"notice", "warning", "failure"}
)

// CheckRun is the fake's state of one check run.
type CheckRun struct {
	ID         int64
	Name       string
	HeadSHA    string
	ExternalID string
	DetailsURL string
	// AppID is the App that created the run (ActionsAppID for workflow
	// tokens); only it may update the run.
	AppID       int64
	Status      string
	Conclusion  string
	StartedAt   time.Time
	CompletedAt time.Time
	Title       string
	Summary     string
	Text        string
	// Annotations accumulate over the create and every update.
	Annotations []Annotation
	// StatusHistory lists each status the run took, in order, e.g.
	// [queued in_progress completed].
	StatusHistory []string
	// Updates counts accepted PATCH requests.
	Updates int
}

// Annotation is one check-run annotation. Columns are 0 when not sent.
type Annotation struct {
	Path        string
	StartLine   int
	EndLine     int
	StartColumn int
	EndColumn   int
	Level       string
	Message     string
	Title       string
	RawDetails  string
}

// CheckRuns returns a copy of every check run of owner/repo, oldest first.
func (s *Server) CheckRuns(owner, repo string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.findRepo(owner, repo)
	if rp == nil {
		return nil
	}
	out := make([]CheckRun, 0, len(rp.checkRuns))
	for _, cr := range rp.checkRuns {
		out = append(out, cr.clone())
	}
	return out
}

type checkRun struct {
	CheckRun
	suiteID int64
}

func (cr *checkRun) clone() CheckRun {
	c := cr.CheckRun
	c.Annotations = slices.Clone(c.Annotations)
	c.StatusHistory = slices.Clone(c.StatusHistory)
	return c
}

// checkRunBody is the create/update request; pointers tell absent from empty.
type checkRunBody struct {
	Name        *string       `json:"name"`
	HeadSHA     *string       `json:"head_sha"`
	DetailsURL  *string       `json:"details_url"`
	ExternalID  *string       `json:"external_id"`
	Status      *string       `json:"status"`
	Conclusion  *string       `json:"conclusion"`
	StartedAt   *string       `json:"started_at"`
	CompletedAt *string       `json:"completed_at"`
	Output      *outputBody   `json:"output"`
	Actions     []*actionBody `json:"actions"`
}

type outputBody struct {
	Title       *string           `json:"title"`
	Summary     *string           `json:"summary"`
	Text        *string           `json:"text"`
	Annotations []*annotationBody `json:"annotations"`
}

type annotationBody struct {
	Path            *string `json:"path"`
	StartLine       *int    `json:"start_line"`
	EndLine         *int    `json:"end_line"`
	StartColumn     *int    `json:"start_column"`
	EndColumn       *int    `json:"end_column"`
	AnnotationLevel *string `json:"annotation_level"`
	Message         *string `json:"message"`
	Title           *string `json:"title"`
	RawDetails      *string `json:"raw_details"`
}

type actionBody struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

func invalid(field string) string { return "Invalid request.\n\n" + field }

// validateCommon checks the rules shared by create and update and returns
// the GitHub error message, or "".
func validateCommon(b *checkRunBody) string {
	if b.Status != nil && !slices.Contains(checkStatuses, *b.Status) {
		return invalid(fmt.Sprintf("%q is not a member of [queued, in_progress, completed].", *b.Status))
	}
	if b.Conclusion != nil && !slices.Contains(checkConclusions, *b.Conclusion) {
		return invalid(fmt.Sprintf("%q is not a valid conclusion.", *b.Conclusion))
	}
	completed := b.Status != nil && *b.Status == "completed"
	if (completed || b.CompletedAt != nil) && b.Conclusion == nil {
		return invalid(`"conclusion" wasn't supplied.`)
	}
	if len(b.Actions) > maxActions {
		return invalid(fmt.Sprintf("Only %d actions are allowed; %d were supplied.", maxActions, len(b.Actions)))
	}
	for _, a := range b.Actions {
		if a == nil || a.Label == "" || a.Identifier == "" || a.Description == "" ||
			len([]rune(a.Label)) > 20 || len([]rune(a.Identifier)) > 20 || len([]rune(a.Description)) > 40 {
			return invalid("actions need label (≤20), identifier (≤20) and description (≤40).")
		}
	}
	if b.Output != nil {
		return validateOutput(b.Output)
	}
	return ""
}

func validateOutput(o *outputBody) string {
	if o.Title == nil {
		return invalid(`"title" wasn't supplied.`)
	}
	if o.Summary == nil {
		return invalid(`"summary" wasn't supplied.`)
	}
	// Budgeted in bytes: the unit GitHub counts is ambiguous
	// (rest-api-description#5399), bytes are never under-counted.
	for _, v := range []*string{o.Summary, o.Text} {
		if v != nil && len(*v) > maxOutputChars {
			return fmt.Sprintf("Only %d characters are allowed; %d were supplied.", maxOutputChars, len(*v))
		}
	}
	if n := len(o.Annotations); n > maxAnnotationsPerCall {
		return fmt.Sprintf("Only %d annotations are allowed per request; %d were supplied.", maxAnnotationsPerCall, n)
	}
	for i, a := range o.Annotations {
		if msg := validateAnnotation(a); msg != "" {
			return invalid(fmt.Sprintf("annotations[%d]: %s", i, msg))
		}
	}
	return ""
}

func validateAnnotation(a *annotationBody) string {
	switch {
	case a == nil:
		return "annotation is null."
	case a.Path == nil || *a.Path == "":
		return `"path" wasn't supplied.`
	case a.StartLine == nil || *a.StartLine < 1:
		return `"start_line" must be an integer ≥ 1.`
	case a.EndLine == nil || *a.EndLine < 1:
		return `"end_line" must be an integer ≥ 1.`
	case *a.EndLine < *a.StartLine:
		return `"end_line" must not precede "start_line".`
	case a.AnnotationLevel == nil || !slices.Contains(annotationLevels, *a.AnnotationLevel):
		return `"annotation_level" must be one of notice, warning, failure.`
	case a.Message == nil || *a.Message == "":
		return `"message" wasn't supplied.`
	case (a.StartColumn != nil || a.EndColumn != nil) && *a.StartLine != *a.EndLine:
		return `"start_column" and "end_column" may only be used when "start_line" equals "end_line".`
	case (a.StartColumn != nil && *a.StartColumn < 1) || (a.EndColumn != nil && *a.EndColumn < 1):
		return "columns must be ≥ 1."
	case len(*a.Message) > maxAnnotationBytes || (a.RawDetails != nil && len(*a.RawDetails) > maxAnnotationBytes):
		return "message and raw_details are limited to 64 kilobytes."
	case a.Title != nil && len([]rune(*a.Title)) > maxAnnotationTitle:
		return "title is limited to 255 characters."
	}
	return ""
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (cr *checkRun) apply(b *checkRunBody, now time.Time) {
	if b.Name != nil {
		cr.Name = *b.Name
	}
	if b.DetailsURL != nil {
		cr.DetailsURL = *b.DetailsURL
	}
	if b.ExternalID != nil {
		cr.ExternalID = *b.ExternalID
	}
	if b.Status != nil {
		cr.Status = *b.Status
	}
	if b.Conclusion != nil {
		// Providing a conclusion sets the status to completed.
		cr.Conclusion, cr.Status = *b.Conclusion, "completed"
	}
	if cr.Status == "completed" && cr.CompletedAt.IsZero() {
		cr.CompletedAt = now
	}
	if o := b.Output; o != nil {
		cr.Title, cr.Summary = *o.Title, *o.Summary
		if o.Text != nil {
			cr.Text = *o.Text
		}
		for _, a := range o.Annotations {
			cr.Annotations = append(cr.Annotations, Annotation{
				Path: *a.Path, StartLine: *a.StartLine, EndLine: *a.EndLine,
				StartColumn: deref(a.StartColumn), EndColumn: deref(a.EndColumn),
				Level: *a.AnnotationLevel, Message: *a.Message,
				Title: deref(a.Title), RawDetails: deref(a.RawDetails),
			})
		}
	}
	if n := len(cr.StatusHistory); n == 0 || cr.StatusHistory[n-1] != cr.Status {
		cr.StatusHistory = append(cr.StatusHistory, cr.Status)
	}
}

func (s *Server) checkRunJSON(rp *repo, cr *checkRun) *github.CheckRun {
	out := &github.CheckRun{
		ID:         github.Int64(cr.ID),
		NodeID:     github.String(fmt.Sprintf("CR_%d", cr.ID)),
		HeadSHA:    github.String(cr.HeadSHA),
		Name:       github.String(cr.Name),
		Status:     github.String(cr.Status),
		URL:        github.String(s.apiURL(rp, "check-runs/%d", cr.ID)),
		HTMLURL:    github.String(s.htmlURL(rp, "runs/%d", cr.ID)),
		StartedAt:  ts(cr.StartedAt),
		CheckSuite: &github.CheckSuite{ID: github.Int64(cr.suiteID)},
		App:        &github.App{ID: github.Int64(cr.AppID)},
		Output: &github.CheckRunOutput{
			Title:            github.String(cr.Title),
			Summary:          github.String(cr.Summary),
			AnnotationsCount: github.Int(len(cr.Annotations)),
			AnnotationsURL:   github.String(s.apiURL(rp, "check-runs/%d/annotations", cr.ID)),
		},
	}
	if cr.Text != "" {
		out.Output.Text = github.String(cr.Text)
	}
	if cr.ExternalID != "" {
		out.ExternalID = github.String(cr.ExternalID)
	}
	if cr.DetailsURL != "" {
		out.DetailsURL = github.String(cr.DetailsURL)
	}
	if cr.Conclusion != "" {
		out.Conclusion = github.String(cr.Conclusion)
	}
	if !cr.CompletedAt.IsZero() {
		out.CompletedAt = ts(cr.CompletedAt)
	}
	return out
}

// checkWriter refuses check writes from tokens that are not an App's.
func (c *call) checkWriter() bool {
	if c.who.appID == 0 {
		c.json(http.StatusForbidden, errBody("You must authenticate via a GitHub App."))
		return false
	}
	return true
}

// POST /repos/{owner}/{repo}/check-runs
func (s *Server) createCheckRun(c *call) {
	var b checkRunBody
	if !c.decode(&b) || !c.checkWriter() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := c.repo()
	if rp == nil {
		return
	}
	msg := ""
	switch {
	case b.Name == nil || *b.Name == "":
		msg = invalid(`"name" wasn't supplied.`)
	case b.HeadSHA == nil || *b.HeadSHA == "":
		msg = invalid(`"head_sha" wasn't supplied.`)
	default:
		msg = validateCommon(&b)
	}
	if msg != "" {
		c.unprocessable(msg)
		return
	}
	now := s.now()
	cr := &checkRun{CheckRun: CheckRun{ID: s.newID(), HeadSHA: *b.HeadSHA, AppID: c.who.appID, Status: "queued", StartedAt: now}}
	cr.suiteID = suiteID(rp, cr.HeadSHA, cr.AppID)
	cr.apply(&b, now)
	rp.checkRuns = append(rp.checkRuns, cr)
	c.json(http.StatusCreated, s.checkRunJSON(rp, cr))
}

// suiteID is stable per (commit, App), like GitHub's one suite per App and
// head commit.
func suiteID(rp *repo, sha string, appID int64) int64 {
	h := rp.id
	for _, r := range sha + "/" + strconv.FormatInt(appID, 10) {
		h = h*31 + int64(r)
	}
	if h < 0 {
		h = -h
	}
	return h%1_000_000_000 + 1
}

// findRun resolves {id} in the repository; answers 404 otherwise.
func (c *call) findRun(rp *repo) *checkRun {
	id, ok := c.int64Path("id")
	if !ok {
		return nil
	}
	for _, cr := range rp.checkRuns {
		if cr.ID == id {
			return cr
		}
	}
	c.notFound()
	return nil
}

// PATCH /repos/{owner}/{repo}/check-runs/{id}
func (s *Server) updateCheckRun(c *call) {
	var b checkRunBody
	if !c.decode(&b) || !c.checkWriter() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := c.repo()
	if rp == nil {
		return
	}
	cr := c.findRun(rp)
	if cr == nil {
		return
	}
	if cr.AppID != c.who.appID {
		c.json(http.StatusForbidden, errBody(fmt.Sprintf("Invalid app_id `%d` - check run can only be modified by the GitHub App that created it.", c.who.appID)))
		return
	}
	msg := ""
	switch {
	case b.Name != nil && *b.Name == "":
		// go-github v62 sends "name" without omitempty: a caller that
		// forgets it blanks the name.
		msg = invalid(`"name" can't be blank.`)
	case cr.Status == "completed" && b.Status != nil && *b.Status != "completed":
		msg = invalid(fmt.Sprintf("a completed check run cannot move back to %s.", *b.Status))
	default:
		msg = validateCommon(&b)
	}
	if msg != "" {
		c.unprocessable(msg)
		return
	}
	cr.Updates++
	cr.apply(&b, s.now())
	c.json(http.StatusOK, s.checkRunJSON(rp, cr))
}

// GET /repos/{owner}/{repo}/check-runs/{id}
func (s *Server) getCheckRun(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := c.repo()
	if rp == nil {
		return
	}
	if cr := c.findRun(rp); cr != nil {
		c.json(http.StatusOK, s.checkRunJSON(rp, cr))
	}
}

// GET /repos/{owner}/{repo}/check-runs/{id}/annotations
func (s *Server) listAnnotations(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := c.repo()
	if rp == nil {
		return
	}
	cr := c.findRun(rp)
	if cr == nil {
		return
	}
	lo, hi := c.paginate(len(cr.Annotations))
	out := []*github.CheckRunAnnotation{}
	for _, a := range cr.Annotations[lo:hi] {
		ga := &github.CheckRunAnnotation{
			Path: github.String(a.Path), StartLine: github.Int(a.StartLine), EndLine: github.Int(a.EndLine),
			AnnotationLevel: github.String(a.Level), Message: github.String(a.Message),
		}
		if a.StartColumn != 0 {
			ga.StartColumn = github.Int(a.StartColumn)
		}
		if a.EndColumn != 0 {
			ga.EndColumn = github.Int(a.EndColumn)
		}
		if a.Title != "" {
			ga.Title = github.String(a.Title)
		}
		if a.RawDetails != "" {
			ga.RawDetails = github.String(a.RawDetails)
		}
		out = append(out, ga)
	}
	c.json(http.StatusOK, out)
}

// GET /repos/{owner}/{repo}/commits/{ref}/check-runs
func (s *Server) listCheckRunsForRef(c *call) {
	q := c.r.URL.Query()
	filter := q.Get("filter")
	if filter == "" {
		filter = "latest"
	}
	if filter != "latest" && filter != "all" {
		c.unprocessable(invalid(fmt.Sprintf("%q is not a member of [latest, all].", filter)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := c.repo()
	if rp == nil {
		return
	}
	sha := resolveRef(rp, c.r.PathValue("ref"))
	var runs []*checkRun
	seen := map[string]bool{}
	// Newest first, as GitHub lists them; "latest" keeps the newest run of
	// each name per App.
	for _, cr := range slices.Backward(rp.checkRuns) {
		if cr.HeadSHA != sha ||
			(q.Has("check_name") && cr.Name != q.Get("check_name")) ||
			(q.Has("status") && cr.Status != q.Get("status")) ||
			(q.Has("app_id") && strconv.FormatInt(cr.AppID, 10) != q.Get("app_id")) {
			continue
		}
		key := cr.Name + "\x00" + strconv.FormatInt(cr.AppID, 10)
		if filter == "latest" && seen[key] {
			continue
		}
		seen[key] = true
		runs = append(runs, cr)
	}
	lo, hi := c.paginate(len(runs))
	out := &github.ListCheckRunsResults{Total: github.Int(len(runs)), CheckRuns: []*github.CheckRun{}}
	for _, cr := range runs[lo:hi] {
		out.CheckRuns = append(out.CheckRuns, s.checkRunJSON(rp, cr))
	}
	c.json(http.StatusOK, out)
}

// resolveRef maps a branch name of a seeded pull request to its commit;
// anything else is taken as a SHA.
func resolveRef(rp *repo, ref string) string {
	ref = strings.TrimPrefix(ref, "refs/heads/")
	for _, n := range slices.Sorted(maps.Keys(rp.pulls)) {
		pr := rp.pulls[n]
		switch ref {
		case pr.HeadRef:
			return pr.HeadSHA
		case pr.BaseRef:
			return pr.BaseSHA
		}
	}
	return ref
}
