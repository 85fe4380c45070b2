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
	"github.com/sourcegraph/go-diff/diff"
)

// Limits of pull-request endpoints (see doc.go for sources).
const (
	maxCommentBody = 65536
	maxListedFiles = 3000
)

// PullRequest seeds a pull request.
type PullRequest struct {
	Number           int
	BaseSHA, HeadSHA string
	BaseRef, HeadRef string
	Files            []File
	// Closed pull requests are not listed as open and read state "closed".
	Closed bool
}

// File is one changed file of a pull request as GET /pulls/{n}/files
// returns it.
type File struct {
	Filename string
	// Status is added, removed, modified (default), renamed, copied,
	// changed or unchanged.
	Status string
	// Patch holds the bare unified-diff hunks GitHub returns ("@@ -1,2 +1,3
	// @@" and body lines, no file header). Empty means GitHub sent no patch
	// (binary or too large): nothing in the file can be commented on.
	Patch string
	// PreviousFilename is set for renames.
	PreviousFilename string
}

// ReviewComment is a pull-request review comment as stored by the fake.
type ReviewComment struct {
	ID        int64
	ReviewID  int64
	InReplyTo int64 // 0 unless a reply
	User      string
	Path      string
	// SubjectType is "line" or "file".
	SubjectType string
	Line        int
	Side        string
	StartLine   int // 0 unless multi-line
	StartSide   string
	Position    int
	Body        string
	CommitID    string
	DiffHunk    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Review is a submitted (or pending) pull-request review.
type Review struct {
	ID       int64
	User     string
	State    string // COMMENTED, APPROVED, CHANGES_REQUESTED or PENDING
	Body     string
	CommitID string
	// Comments are the review's comments still present, oldest first.
	Comments []ReviewComment
}

// IssueComment is a pull request's conversation comment.
type IssueComment struct {
	ID        int64
	User      string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

type pull struct {
	PullRequest
	id       int64
	diffs    map[string]*fileDiff
	reviews  []*Review
	comments []*ReviewComment
}

type issueComment struct {
	IssueComment
	number int
}

// sideLine addresses one line of a file's diff: RIGHT uses new-file
// numbers, LEFT old-file numbers.
type sideLine struct {
	side string
	line int
}

type anchor struct {
	hunk     int
	position int    // lines below the first @@ header, GitHub's legacy anchor
	diffHunk string // hunk text up to and including the line
}

type fileDiff struct {
	hasPatch  bool
	lines     map[sideLine]anchor
	positions map[int]sideLine
	added     int
	deleted   int
}

// parsePatch indexes the commentable lines of a file's patch.
func parsePatch(patch string) (*fileDiff, error) {
	fd := &fileDiff{lines: map[sideLine]anchor{}, positions: map[int]sideLine{}}
	if patch == "" {
		return fd, nil
	}
	hunks, err := diff.ParseHunks([]byte(patch))
	if err != nil {
		return nil, err
	}
	fd.hasPatch = true
	pos := 0
	for hi, h := range hunks {
		if hi > 0 {
			pos++ // every later @@ header takes a position too
		}
		text := []string{fmt.Sprintf("@@ -%d,%d +%d,%d @@%s", h.OrigStartLine, h.OrigLines, h.NewStartLine, h.NewLines, sectionSuffix(h.Section))}
		oldN, newN := int(h.OrigStartLine), int(h.NewStartLine)
		if len(h.Body) == 0 {
			continue
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(h.Body), "\n"), "\n") {
			pos++
			text = append(text, l)
			a := anchor{hunk: hi, position: pos, diffHunk: strings.Join(text, "\n")}
			switch {
			case strings.HasPrefix(l, "+"):
				fd.lines[sideLine{"RIGHT", newN}] = a
				fd.positions[pos] = sideLine{"RIGHT", newN}
				newN++
				fd.added++
			case strings.HasPrefix(l, "-"):
				fd.lines[sideLine{"LEFT", oldN}] = a
				fd.positions[pos] = sideLine{"LEFT", oldN}
				oldN++
				fd.deleted++
			default: // context, commentable on both sides
				fd.lines[sideLine{"RIGHT", newN}] = a
				fd.lines[sideLine{"LEFT", oldN}] = a
				fd.positions[pos] = sideLine{"RIGHT", newN}
				oldN++
				newN++
			}
		}
	}
	return fd, nil
}

func sectionSuffix(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// AddPullRequest seeds (or replaces) pull request pr.Number of owner/repo.
// A patch that does not parse fails the test.
func (s *Server) AddPullRequest(owner, repo string, pr PullRequest) {
	s.t.Helper()
	diffs := map[string]*fileDiff{}
	for _, f := range pr.Files {
		fd, err := parsePatch(f.Patch)
		if err != nil {
			s.t.Fatalf("githubtest: AddPullRequest %s/%s#%d: parse patch of %s: %v", owner, repo, pr.Number, f.Filename, err)
		}
		diffs[f.Filename] = fd
	}
	pr.Files = slices.Clone(pr.Files)
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repoLocked(owner, repo)
	rp.pulls[pr.Number] = &pull{PullRequest: pr, id: s.newID(), diffs: diffs}
}

// ReviewComments returns the review comments of pull request n, oldest
// first, including those of pending reviews.
func (s *Server) ReviewComments(owner, repo string, n int) []ReviewComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.findPull(owner, repo, n)
	if pr == nil {
		return nil
	}
	out := []ReviewComment{}
	for _, rc := range pr.comments {
		out = append(out, *rc)
	}
	return out
}

// Reviews returns the reviews of pull request n, oldest first.
func (s *Server) Reviews(owner, repo string, n int) []Review {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.findPull(owner, repo, n)
	if pr == nil {
		return nil
	}
	out := []Review{}
	for _, rv := range pr.reviews {
		r := *rv
		r.Comments = []ReviewComment{}
		for _, rc := range pr.comments {
			if rc.ReviewID == rv.ID {
				r.Comments = append(r.Comments, *rc)
			}
		}
		out = append(out, r)
	}
	return out
}

// IssueComments returns the conversation comments of pull request n,
// oldest first.
func (s *Server) IssueComments(owner, repo string, n int) []IssueComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.findRepo(owner, repo)
	if rp == nil {
		return nil
	}
	out := []IssueComment{}
	for _, ic := range rp.issueComments {
		if ic.number == n {
			out = append(out, ic.IssueComment)
		}
	}
	return out
}

func (s *Server) findPull(owner, repo string, n int) *pull {
	rp := s.findRepo(owner, repo)
	if rp == nil {
		return nil
	}
	return rp.pulls[n]
}

// pull resolves {owner}/{repo} and {n}; answers 404 otherwise. Callers hold
// s.mu.
func (c *call) pull() (*repo, *pull) {
	rp := c.repo()
	if rp == nil {
		return nil, nil
	}
	n, err := strconv.Atoi(c.r.PathValue("n"))
	pr := rp.pulls[n]
	if err != nil || pr == nil {
		c.notFound()
		return nil, nil
	}
	return rp, pr
}

func (s *Server) pullJSON(rp *repo, pr *pull) *github.PullRequest {
	ghRepo := &github.Repository{ID: github.Int64(rp.id), Name: github.String(rp.name), FullName: github.String(rp.owner + "/" + rp.name), Owner: &github.User{Login: github.String(rp.owner)}}
	add, del := 0, 0
	for _, fd := range pr.diffs {
		add += fd.added
		del += fd.deleted
	}
	return &github.PullRequest{
		ID:           github.Int64(pr.id),
		Number:       github.Int(pr.Number),
		State:        github.String(map[bool]string{false: "open", true: "closed"}[pr.Closed]),
		Title:        github.String(fmt.Sprintf("Pull request %d", pr.Number)),
		URL:          github.String(s.apiURL(rp, "pulls/%d", pr.Number)),
		HTMLURL:      github.String(s.htmlURL(rp, "pull/%d", pr.Number)),
		Head:         &github.PullRequestBranch{SHA: github.String(pr.HeadSHA), Ref: github.String(pr.HeadRef), Repo: ghRepo},
		Base:         &github.PullRequestBranch{SHA: github.String(pr.BaseSHA), Ref: github.String(pr.BaseRef), Repo: ghRepo},
		ChangedFiles: github.Int(len(pr.Files)),
		Additions:    github.Int(add),
		Deletions:    github.Int(del),
	}
}

// GET /repos/{owner}/{repo}/pulls?state=open|closed|all (default open),
// by number, paginated.
func (s *Server) listPulls(c *call) {
	state := c.r.URL.Query().Get("state")
	if state == "" {
		state = "open"
	}
	if !slices.Contains([]string{"open", "closed", "all"}, state) {
		c.unprocessable(invalid(fmt.Sprintf("%q is not a member of [open, closed, all].", state)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := c.repo()
	if rp == nil {
		return
	}
	var prs []*pull
	for _, n := range slices.Sorted(maps.Keys(rp.pulls)) {
		pr := rp.pulls[n]
		if state == "all" || (state == "closed") == pr.Closed {
			prs = append(prs, pr)
		}
	}
	lo, hi := c.paginate(len(prs))
	out := []*github.PullRequest{}
	for _, pr := range prs[lo:hi] {
		out = append(out, s.pullJSON(rp, pr))
	}
	c.json(http.StatusOK, out)
}

// GET /repos/{owner}/{repo}/compare/{base}...{head}: the fake knows no
// history, so the merge base is the base itself.
func (s *Server) compare(c *call) {
	base, head, ok := strings.Cut(c.r.PathValue("basehead"), "...")
	if !ok || base == "" || head == "" {
		c.notFound()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp := c.repo(); rp != nil {
		c.json(http.StatusOK, &github.CommitsComparison{Status: github.String("ahead"),
			BaseCommit: &github.RepositoryCommit{SHA: github.String(base)}, MergeBaseCommit: &github.RepositoryCommit{SHA: github.String(base)}})
	}
}

// GET /repos/{owner}/{repo}/pulls/{n}
func (s *Server) getPull(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp, pr := c.pull(); pr != nil {
		c.json(http.StatusOK, s.pullJSON(rp, pr))
	}
}

// GET /repos/{owner}/{repo}/pulls/{n}/files
func (s *Server) listPullFiles(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := c.pull()
	if pr == nil {
		return
	}
	files := pr.Files[:min(len(pr.Files), maxListedFiles)]
	lo, hi := c.paginate(len(files))
	out := []*github.CommitFile{}
	for i, f := range files[lo:hi] {
		fd := pr.diffs[f.Filename]
		status := f.Status
		if status == "" {
			status = "modified"
		}
		cf := &github.CommitFile{
			SHA:         github.String(fmt.Sprintf("%040x", lo+i+1)),
			Filename:    github.String(f.Filename),
			Status:      github.String(status),
			Additions:   github.Int(fd.added),
			Deletions:   github.Int(fd.deleted),
			Changes:     github.Int(fd.added + fd.deleted),
			BlobURL:     github.String(s.htmlURL(rp, "blob/%s/%s", pr.HeadSHA, f.Filename)),
			RawURL:      github.String(s.htmlURL(rp, "raw/%s/%s", pr.HeadSHA, f.Filename)),
			ContentsURL: github.String(s.apiURL(rp, "contents/%s?ref=%s", f.Filename, pr.HeadSHA)),
		}
		if f.Patch != "" {
			cf.Patch = github.String(f.Patch)
		}
		if f.PreviousFilename != "" {
			cf.PreviousFilename = github.String(f.PreviousFilename)
		}
		out = append(out, cf)
	}
	c.json(http.StatusOK, out)
}

// commentBody is one review comment in a request; pointers tell absent
// from zero.
type commentBody struct {
	Path        *string `json:"path"`
	Position    *int    `json:"position"`
	Body        *string `json:"body"`
	Line        *int    `json:"line"`
	Side        *string `json:"side"`
	StartLine   *int    `json:"start_line"`
	StartSide   *string `json:"start_side"`
	CommitID    *string `json:"commit_id"`
	InReplyTo   *int64  `json:"in_reply_to"`
	SubjectType *string `json:"subject_type"`
}

// errLine is GitHub's answer to a comment anchored outside the diff.
const errLine = "Line could not be resolved"

// checkBody validates a comment body's length; "" if fine.
func checkBody(body *string) string {
	switch {
	case body == nil || strings.TrimSpace(*body) == "":
		return "Body can't be blank"
	case len(*body) > maxCommentBody:
		// Bytes, not characters: never under-counts.
		return fmt.Sprintf("Body is too long (maximum is %d characters)", maxCommentBody)
	}
	return ""
}

// resolve checks a new comment's anchor against the pull request's diff
// and returns the comment to store, or the error GitHub gives.
func resolve(pr *pull, cb *commentBody) (*ReviewComment, string) {
	if msg := checkBody(cb.Body); msg != "" {
		return nil, msg
	}
	if cb.Path == nil {
		return nil, errLine
	}
	fd, ok := pr.diffs[*cb.Path]
	if !ok {
		return nil, errLine
	}
	rc := &ReviewComment{Path: *cb.Path, Body: *cb.Body, SubjectType: "line"}
	if deref(cb.SubjectType) == "file" {
		if cb.Line != nil || cb.Position != nil || cb.StartLine != nil {
			return nil, errLine
		}
		rc.SubjectType = "file"
		return rc, ""
	}
	if !fd.hasPatch || (cb.Position != nil && (cb.Line != nil || cb.StartLine != nil)) {
		return nil, errLine
	}
	var at sideLine
	switch {
	case cb.Position != nil:
		sl, ok := fd.positions[*cb.Position]
		if !ok {
			return nil, errLine
		}
		at = sl
	case cb.Line != nil:
		at = sideLine{deref(cb.Side), *cb.Line}
		if at.side == "" {
			at.side = "RIGHT"
		}
	default:
		return nil, errLine
	}
	end, ok := fd.lines[at]
	if !ok {
		return nil, errLine
	}
	rc.Line, rc.Side, rc.Position, rc.DiffHunk = at.line, at.side, end.position, end.diffHunk
	if cb.StartSide != nil && cb.StartLine == nil {
		return nil, errLine
	}
	if cb.StartLine != nil {
		from := sideLine{deref(cb.StartSide), *cb.StartLine}
		if from.side == "" {
			from.side = at.side
		}
		start, ok := fd.lines[from]
		switch {
		case !ok:
			return nil, errLine
		case start.hunk != end.hunk:
			return nil, "pull_request_review_thread.start_line must be part of the same hunk as the line."
		case start.position >= end.position:
			return nil, "pull_request_review_thread.start_line must precede the end line."
		}
		rc.StartLine, rc.StartSide = from.line, from.side
	}
	return rc, ""
}

func (s *Server) reviewCommentJSON(rp *repo, pr *pull, rc *ReviewComment) *github.PullRequestComment {
	out := &github.PullRequestComment{
		ID:                  github.Int64(rc.ID),
		NodeID:              github.String(fmt.Sprintf("PRRC_%d", rc.ID)),
		PullRequestReviewID: github.Int64(rc.ReviewID),
		Body:                github.String(rc.Body),
		Path:                github.String(rc.Path),
		CommitID:            github.String(rc.CommitID),
		OriginalCommitID:    github.String(rc.CommitID),
		User:                userJSON(rc.User),
		SubjectType:         github.String(rc.SubjectType),
		CreatedAt:           ts(rc.CreatedAt),
		UpdatedAt:           ts(rc.UpdatedAt),
		URL:                 github.String(s.apiURL(rp, "pulls/comments/%d", rc.ID)),
		HTMLURL:             github.String(s.htmlURL(rp, "pull/%d#discussion_r%d", pr.Number, rc.ID)),
		PullRequestURL:      github.String(s.apiURL(rp, "pulls/%d", pr.Number)),
		AuthorAssociation:   github.String("NONE"),
	}
	if rc.InReplyTo != 0 {
		out.InReplyTo = github.Int64(rc.InReplyTo)
	}
	if rc.SubjectType == "line" {
		out.Line, out.OriginalLine = github.Int(rc.Line), github.Int(rc.Line)
		out.Side = github.String(rc.Side)
		out.Position, out.OriginalPosition = github.Int(rc.Position), github.Int(rc.Position)
		out.DiffHunk = github.String(rc.DiffHunk)
		if rc.StartLine != 0 {
			out.StartLine, out.OriginalStartLine = github.Int(rc.StartLine), github.Int(rc.StartLine)
			out.StartSide = github.String(rc.StartSide)
		}
	}
	return out
}

func (s *Server) reviewJSON(rp *repo, pr *pull, rv *Review) *github.PullRequestReview {
	out := &github.PullRequestReview{
		ID:             github.Int64(rv.ID),
		NodeID:         github.String(fmt.Sprintf("PRR_%d", rv.ID)),
		User:           userJSON(rv.User),
		Body:           github.String(rv.Body),
		CommitID:       github.String(rv.CommitID),
		State:          github.String(rv.State),
		HTMLURL:        github.String(s.htmlURL(rp, "pull/%d#pullrequestreview-%d", pr.Number, rv.ID)),
		PullRequestURL: github.String(s.apiURL(rp, "pulls/%d", pr.Number)),
	}
	if rv.State != "PENDING" {
		out.SubmittedAt = ts(s.now())
	}
	return out
}

// pending reports whether a review comment belongs to a pending review,
// which others cannot see.
func (pr *pull) pending(rc *ReviewComment) bool {
	for _, rv := range pr.reviews {
		if rv.ID == rc.ReviewID {
			return rv.State == "PENDING"
		}
	}
	return false
}

// POST /repos/{owner}/{repo}/pulls/{n}/reviews
func (s *Server) createReview(c *call) {
	var req struct {
		CommitID *string        `json:"commit_id"`
		Body     *string        `json:"body"`
		Event    *string        `json:"event"`
		Comments []*commentBody `json:"comments"`
	}
	if !c.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := c.pull()
	if pr == nil {
		return
	}
	state := "PENDING"
	switch deref(req.Event) {
	case "":
		for _, rv := range pr.reviews {
			if rv.State == "PENDING" && rv.User == c.who.login {
				c.unprocessable("Unprocessable Entity", "User can only have one pending review per pull request")
				return
			}
		}
	case "COMMENT":
		state = "COMMENTED"
	case "APPROVE":
		state = "APPROVED"
	case "REQUEST_CHANGES":
		state = "CHANGES_REQUESTED"
	default:
		c.unprocessable(invalid(fmt.Sprintf("%q is not a member of [APPROVE, REQUEST_CHANGES, COMMENT].", *req.Event)))
		return
	}
	if req.CommitID != nil && *req.CommitID != pr.HeadSHA {
		c.unprocessable("Unprocessable Entity", "Commit id is not part of the pull request")
		return
	}
	if (state == "CHANGES_REQUESTED" || (state == "COMMENTED" && len(req.Comments) == 0)) && strings.TrimSpace(deref(req.Body)) == "" {
		c.unprocessable("Unprocessable Entity", "Review body can't be blank")
		return
	}
	if req.Body != nil && len(*req.Body) > maxCommentBody {
		c.unprocessable("Unprocessable Entity", fmt.Sprintf("Body is too long (maximum is %d characters)", maxCommentBody))
		return
	}
	// All or nothing: one unresolvable comment rejects the whole review,
	// without saying which.
	var resolved []*ReviewComment
	for _, cb := range req.Comments {
		if cb == nil {
			c.unprocessable("Unprocessable Entity", errLine)
			return
		}
		rc, msg := resolve(pr, cb)
		if msg != "" {
			c.unprocessable("Unprocessable Entity", msg)
			return
		}
		resolved = append(resolved, rc)
	}
	now := s.now()
	rv := &Review{ID: s.newID(), User: c.who.login, State: state, Body: deref(req.Body), CommitID: pr.HeadSHA}
	pr.reviews = append(pr.reviews, rv)
	for _, rc := range resolved {
		rc.ID, rc.ReviewID, rc.User, rc.CommitID, rc.CreatedAt, rc.UpdatedAt = s.newID(), rv.ID, c.who.login, pr.HeadSHA, now, now
		pr.comments = append(pr.comments, rc)
	}
	c.json(http.StatusOK, s.reviewJSON(rp, pr, rv))
}

// POST /repos/{owner}/{repo}/pulls/{n}/comments
func (s *Server) createReviewComment(c *call) {
	var cb commentBody
	if !c.decode(&cb) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := c.pull()
	if pr == nil {
		return
	}
	var rc *ReviewComment
	if cb.InReplyTo != nil {
		if msg := checkBody(cb.Body); msg != "" {
			c.unprocessable("Unprocessable Entity", msg)
			return
		}
		i := slices.IndexFunc(pr.comments, func(rc *ReviewComment) bool { return rc.ID == *cb.InReplyTo })
		if i < 0 {
			c.notFound()
			return
		}
		parent := *pr.comments[i]
		rc = &parent
		rc.InReplyTo, rc.Body = parent.ID, *cb.Body
	} else {
		if cb.CommitID == nil {
			c.unprocessable(invalid(`"commit_id" wasn't supplied.`))
			return
		}
		if *cb.CommitID != pr.HeadSHA {
			c.unprocessable("Unprocessable Entity", "Commit id is not part of the pull request")
			return
		}
		var msg string
		if rc, msg = resolve(pr, &cb); msg != "" {
			c.unprocessable("Unprocessable Entity", msg)
			return
		}
	}
	now := s.now()
	// A single comment is a review of its own.
	rv := &Review{ID: s.newID(), User: c.who.login, State: "COMMENTED", CommitID: pr.HeadSHA}
	pr.reviews = append(pr.reviews, rv)
	rc.ID, rc.ReviewID, rc.User, rc.CommitID, rc.CreatedAt, rc.UpdatedAt = s.newID(), rv.ID, c.who.login, pr.HeadSHA, now, now
	pr.comments = append(pr.comments, rc)
	c.json(http.StatusCreated, s.reviewCommentJSON(rp, pr, rc))
}

// GET /repos/{owner}/{repo}/pulls/{n}/comments
func (s *Server) listReviewComments(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := c.pull()
	if pr == nil {
		return
	}
	var visible []*ReviewComment
	for _, rc := range pr.comments {
		if !pr.pending(rc) || rc.User == c.who.login {
			visible = append(visible, rc)
		}
	}
	lo, hi := c.paginate(len(visible))
	out := []*github.PullRequestComment{}
	for _, rc := range visible[lo:hi] {
		out = append(out, s.reviewCommentJSON(rp, pr, rc))
	}
	c.json(http.StatusOK, out)
}

// findReviewComment resolves {id} among the repository's review comments;
// answers 404 otherwise.
func (c *call) findReviewComment() (*repo, *pull, int) {
	rp := c.repo()
	if rp == nil {
		return nil, nil, 0
	}
	id, ok := c.int64Path("id")
	if !ok {
		return nil, nil, 0
	}
	for _, pr := range rp.pulls {
		for i, rc := range pr.comments {
			if rc.ID == id {
				return rp, pr, i
			}
		}
	}
	c.notFound()
	return nil, nil, 0
}

// GET /repos/{owner}/{repo}/pulls/comments/{id}
func (s *Server) getReviewComment(c *call) {
	if c.r.PathValue("n") != "comments" {
		c.unknownRoute()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp, pr, i := c.findReviewComment(); pr != nil {
		c.json(http.StatusOK, s.reviewCommentJSON(rp, pr, pr.comments[i]))
	}
}

// PATCH /repos/{owner}/{repo}/pulls/comments/{id}
func (s *Server) editReviewComment(c *call) {
	var req struct {
		Body *string `json:"body"`
	}
	if !c.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr, i := c.findReviewComment()
	if pr == nil {
		return
	}
	if msg := checkBody(req.Body); msg != "" {
		c.unprocessable("Unprocessable Entity", msg)
		return
	}
	rc := pr.comments[i]
	rc.Body, rc.UpdatedAt = *req.Body, s.now()
	c.json(http.StatusOK, s.reviewCommentJSON(rp, pr, rc))
}

// DELETE /repos/{owner}/{repo}/pulls/comments/{id}
func (s *Server) deleteReviewComment(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, pr, i := c.findReviewComment(); pr != nil {
		pr.comments = slices.Delete(pr.comments, i, i+1)
		c.w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) issueCommentJSON(rp *repo, ic *issueComment) *github.IssueComment {
	return &github.IssueComment{
		ID:                github.Int64(ic.ID),
		NodeID:            github.String(fmt.Sprintf("IC_%d", ic.ID)),
		Body:              github.String(ic.Body),
		User:              userJSON(ic.User),
		CreatedAt:         ts(ic.CreatedAt),
		UpdatedAt:         ts(ic.UpdatedAt),
		AuthorAssociation: github.String("NONE"),
		URL:               github.String(s.apiURL(rp, "issues/comments/%d", ic.ID)),
		HTMLURL:           github.String(s.htmlURL(rp, "pull/%d#issuecomment-%d", ic.number, ic.ID)),
		IssueURL:          github.String(s.apiURL(rp, "issues/%d", ic.number)),
	}
}

// GET /repos/{owner}/{repo}/issues/{n}/comments
func (s *Server) listIssueComments(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := c.pull()
	if pr == nil {
		return
	}
	var mine []*issueComment
	for _, ic := range rp.issueComments {
		if ic.number == pr.Number {
			mine = append(mine, ic)
		}
	}
	lo, hi := c.paginate(len(mine))
	out := []*github.IssueComment{}
	for _, ic := range mine[lo:hi] {
		out = append(out, s.issueCommentJSON(rp, ic))
	}
	c.json(http.StatusOK, out)
}

// POST /repos/{owner}/{repo}/issues/{n}/comments
func (s *Server) createIssueComment(c *call) {
	var req struct {
		Body *string `json:"body"`
	}
	if !c.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := c.pull()
	if pr == nil {
		return
	}
	if msg := checkBody(req.Body); msg != "" {
		c.unprocessable("Validation Failed", msg)
		return
	}
	now := s.now()
	ic := &issueComment{IssueComment: IssueComment{ID: s.newID(), User: c.who.login, Body: *req.Body, CreatedAt: now, UpdatedAt: now}, number: pr.Number}
	rp.issueComments = append(rp.issueComments, ic)
	c.json(http.StatusCreated, s.issueCommentJSON(rp, ic))
}

func (c *call) findIssueComment() (*repo, int) {
	rp := c.repo()
	if rp == nil {
		return nil, 0
	}
	id, ok := c.int64Path("id")
	if !ok {
		return nil, 0
	}
	i := slices.IndexFunc(rp.issueComments, func(ic *issueComment) bool { return ic.ID == id })
	if i < 0 {
		c.notFound()
		return nil, 0
	}
	return rp, i
}

// PATCH /repos/{owner}/{repo}/issues/comments/{id}
func (s *Server) editIssueComment(c *call) {
	var req struct {
		Body *string `json:"body"`
	}
	if !c.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, i := c.findIssueComment()
	if rp == nil {
		return
	}
	if msg := checkBody(req.Body); msg != "" {
		c.unprocessable("Validation Failed", msg)
		return
	}
	ic := rp.issueComments[i]
	ic.Body, ic.UpdatedAt = *req.Body, s.now()
	c.json(http.StatusOK, s.issueCommentJSON(rp, ic))
}

// DELETE /repos/{owner}/{repo}/issues/comments/{id}
func (s *Server) deleteIssueComment(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp, i := c.findIssueComment(); rp != nil {
		rp.issueComments = slices.Delete(rp.issueComments, i, i+1)
		c.w.WriteHeader(http.StatusNoContent)
	}
}
