package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

// apiPrefix is where the REST API is served, like GitHub Enterprise's
// /api/v3/ but spelled differently so that a client which ignores the
// configured base URL (and builds absolute URLs by hand) misses every route
// and trips the catch-all.
const apiPrefix = "/api-v3"

// codeloadPrefix serves tarball redirects (see TarballRedirect); it is the
// only route outside apiPrefix and needs no Authorization header, like
// codeload.github.com.
const codeloadPrefix = "/codeload/"

// Actions' own App, the one whose check suite workflow tokens write to.
const (
	actionsAppID    = 15368
	actionsBotLogin = "github-actions[bot]"
	actionsBotID    = 41898282
)

// Server is a stateful fake of the GitHub REST API. Create it with
// NewServer; all methods are safe for concurrent use.
type Server struct {
	t  testing.TB
	ts *httptest.Server

	tarballRedirect bool

	mu       sync.Mutex
	now      func() time.Time
	nextID   int64
	repos    map[string]*repo // key owner/name, lower case
	tokens   map[string]*principal
	app      *appConfig
	installs map[int64]*installation
	faults   []*fault
	requests []Request
	codeload map[string]codeloadLink
}

// Option configures a Server.
type Option func(*Server)

// TarballRedirect makes GET /repos/{o}/{r}/tarball/{ref} answer 302 with a
// Location on the fake's codeload route (valid 5 minutes of fake time, no
// Authorization needed), as github.com does and as go-github's
// Repositories.GetArchiveLink expects. Without it the tarball bytes are
// served directly with 200.
func TarballRedirect() Option { return func(s *Server) { s.tarballRedirect = true } }

// Request is one request the fake received, recorded in arrival order.
type Request struct {
	Method string
	// Path is the decoded request path without the /api-v3 prefix, e.g.
	// "/repos/o/r/check-runs".
	Path  string
	Query url.Values
	Body  []byte
	// Status is the HTTP status the fake answered.
	Status int
	// Auth is the kind of credentials sent: "none", "token" (a token added
	// with AddToken), "installation", "jwt" (an App JWT) or "invalid" (an
	// unknown, expired or unverifiable credential). The token itself is
	// never recorded.
	Auth string
}

type repo struct {
	owner, name   string
	id            int64
	pulls         map[int]*pull
	checkRuns     []*checkRun
	tarballs      map[string]map[string]string // sha -> files
	issueComments []*issueComment
}

type fault struct {
	method, pattern string
	status, left    int
	after           bool // applied first, then answered status
}

// NewServer starts a fake GitHub on a loopback listener and closes it when
// the test ends. Requests outside the known routes fail the test.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:        t,
		now:      time.Now,
		nextID:   5_000_000_000, // above 2^32: catches ids squeezed into int32
		repos:    map[string]*repo{},
		tokens:   map[string]*principal{},
		installs: map[int64]*installation{},
		codeload: map[string]codeloadLink{},
	}
	for _, o := range opts {
		o(s)
	}
	s.ts = httptest.NewServer(s.handler())
	t.Cleanup(s.ts.Close)
	return s
}

// URL is the API base URL, ending in "/api-v3/".
func (s *Server) URL() string { return s.ts.URL + apiPrefix + "/" }

// Client returns a go-github client pointed at the fake that authenticates
// with token (sent as "Authorization: Bearer <token>"). An empty token sends
// an empty Bearer credential.
func (s *Server) Client(token string) *github.Client {
	c := github.NewClient(s.ts.Client()).WithAuthToken(token)
	u, err := url.Parse(s.URL())
	if err != nil {
		s.t.Fatalf("githubtest: parse base URL: %v", err)
	}
	c.BaseURL = u
	c.UploadURL = u
	return c
}

// SetNow replaces the fake clock used for token and JWT expiry and
// timestamps. Default time.Now.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// AddRepo makes owner/name exist. Seeding a pull request, tarball or
// installation adds the repository too.
func (s *Server) AddRepo(owner, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoLocked(owner, name)
}

func (s *Server) repoLocked(owner, name string) *repo {
	key := strings.ToLower(owner + "/" + name)
	r, ok := s.repos[key]
	if !ok {
		r = &repo{owner: owner, name: name, id: s.newID(), pulls: map[int]*pull{}, tarballs: map[string]map[string]string{}}
		s.repos[key] = r
	}
	return r
}

func (s *Server) findRepo(owner, name string) *repo {
	return s.repos[strings.ToLower(owner+"/"+name)]
}

// newID returns a fresh id; callers hold s.mu.
func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

// FailNext answers the next n requests whose method (empty = any) and path
// (without /api-v3, matched with path.Match, e.g. "/repos/o/r/pulls/*/files")
// match with status, before authentication, like a gateway or the abuse
// detector would. 403 and 429 carry GitHub's secondary-rate-limit body and
// "Retry-After: 1"; 5xx carry an HTML-ish gateway page.
func (s *Server) FailNext(method, pathPattern string, status, n int) {
	if _, err := path.Match(pathPattern, "/"); err != nil {
		s.t.Fatalf("githubtest: FailNext pattern %q: %v", pathPattern, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, pattern: pathPattern, status: status, left: n})
}

// FailAfter is FailNext for faults that happen after GitHub did the work:
// the next n matching requests are carried out (a check run or review is
// created, a run updated) and then answered with status, the way a
// gateway timeout or a dropped connection after the fact looks to a
// client. A caller that simply sends the request again duplicates it.
func (s *Server) FailAfter(method, pathPattern string, status, n int) {
	if _, err := path.Match(pathPattern, "/"); err != nil {
		s.t.Fatalf("githubtest: FailAfter pattern %q: %v", pathPattern, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, pattern: pathPattern, status: status, left: n, after: true})
}

// Requests returns a copy of the request log, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Query = cloneValues(r.Query)
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// route is one known endpoint. auth says which credential it takes.
type route struct {
	method, pattern string
	auth            authKind
	write           bool
	h               func(*call)
}

type authKind int

const (
	authToken authKind = iota // workflow, user or installation token
	authJWT                   // App JWT
	authNone                  // codeload
)

// call carries one request through a handler.
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	body []byte
	who  *principal
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/repos/{owner}/{repo}/installation", authJWT, false, s.getRepoInstallation},
		{"POST", "/app/installations/{id}/access_tokens", authJWT, false, s.createAccessToken},
		{"GET", "/app", authJWT, false, s.getApp},
		{"GET", "/app/installations", authJWT, false, s.listInstallations},
		{"GET", "/installation/repositories", authToken, false, s.listInstallationRepos},
		{"GET", "/repos/{owner}/{repo}/pulls", authToken, false, s.listPulls},
		{"GET", "/repos/{owner}/{repo}/compare/{basehead}", authToken, false, s.compare},

		{"POST", "/repos/{owner}/{repo}/check-runs", authToken, true, s.createCheckRun},
		{"PATCH", "/repos/{owner}/{repo}/check-runs/{id}", authToken, true, s.updateCheckRun},
		{"GET", "/repos/{owner}/{repo}/check-runs/{id}", authToken, false, s.getCheckRun},
		{"GET", "/repos/{owner}/{repo}/check-runs/{id}/annotations", authToken, false, s.listAnnotations},
		{"GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", authToken, false, s.listCheckRunsForRef},

		{"GET", "/repos/{owner}/{repo}/pulls/{n}", authToken, false, s.getPull},
		{"GET", "/repos/{owner}/{repo}/pulls/{n}/files", authToken, false, s.listPullFiles},
		{"GET", "/repos/{owner}/{repo}/pulls/{n}/comments", authToken, false, s.listReviewComments},
		{"POST", "/repos/{owner}/{repo}/pulls/{n}/comments", authToken, true, s.createReviewComment},
		{"POST", "/repos/{owner}/{repo}/pulls/{n}/reviews", authToken, true, s.createReview},
		// "pulls/comments/{id}" would conflict with "pulls/{n}/files" in
		// ServeMux; getReviewComment checks the literal itself.
		{"GET", "/repos/{owner}/{repo}/pulls/{n}/{id}", authToken, false, s.getReviewComment},
		{"PATCH", "/repos/{owner}/{repo}/pulls/comments/{id}", authToken, true, s.editReviewComment},
		{"DELETE", "/repos/{owner}/{repo}/pulls/comments/{id}", authToken, true, s.deleteReviewComment},

		{"GET", "/repos/{owner}/{repo}/issues/{n}/comments", authToken, false, s.listIssueComments},
		{"POST", "/repos/{owner}/{repo}/issues/{n}/comments", authToken, true, s.createIssueComment},
		{"PATCH", "/repos/{owner}/{repo}/issues/comments/{id}", authToken, true, s.editIssueComment},
		{"DELETE", "/repos/{owner}/{repo}/issues/comments/{id}", authToken, true, s.deleteIssueComment},

		{"GET", "/repos/{owner}/{repo}/tarball/{ref...}", authToken, false, s.getTarball},
	}
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	byPattern := map[string]route{}
	for _, rt := range s.routes() {
		p := rt.method + " " + apiPrefix + rt.pattern
		byPattern[p] = rt
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	codeload := "GET " + codeloadPrefix + "{owner}/{repo}/legacy.tar.gz/{sha}"
	byPattern[codeload] = route{method: "GET", auth: authNone, h: s.getCodeload}
	mux.HandleFunc(codeload, func(http.ResponseWriter, *http.Request) {})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := &statusRecorder{ResponseWriter: w}
		c := &call{s: s, w: rec, r: r, body: body}
		auth := s.serve(c, mux, byPattern)
		query := r.URL.Query()
		if query.Has("token") { // codeload links carry a credential
			query.Set("token", "REDACTED")
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method,
			Path:   strings.TrimPrefix(r.URL.Path, apiPrefix),
			Query:  query,
			Body:   body,
			Status: rec.status(),
			Auth:   auth,
		})
		s.mu.Unlock()
	})
}

// serve routes one request and returns the auth kind for the log.
func (s *Server) serve(c *call, mux *http.ServeMux, byPattern map[string]route) string {
	r := c.r
	// ServeMux sets r.Pattern and the path wildcards on r itself; its
	// handlers are empty, the work happens below.
	mux.ServeHTTP(discard{}, r)
	rt, known := byPattern[r.Pattern]
	if !known || strings.Contains(r.URL.Path, "//") {
		c.unknownRoute()
		return authKindOf(r)
	}

	if s.injectFault(c) {
		return s.credentialKind(r)
	}
	switch rt.auth {
	case authNone:
		rt.h(c)
		return "none"
	case authJWT:
		if !s.checkJWT(c) {
			return authKindOf(r)
		}
		s.handle(c, rt.h)
		return "jwt"
	}
	who, ok := s.checkToken(c)
	if !ok {
		return authKindOf(r)
	}
	c.who = who
	if rt.write && who.readOnly {
		c.json(http.StatusForbidden, errBody("Resource not accessible by integration"))
		return who.kind
	}
	s.handle(c, rt.h)
	return who.kind
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

func (s *Server) injectFault(c *call) bool {
	hit := s.takeFault(c, false)
	if hit == nil {
		return false
	}
	c.writeFault(hit)
	return true
}

// takeFault consumes the first matching fault of the kind asked for.
func (s *Server) takeFault(c *call, after bool) *fault {
	p := strings.TrimPrefix(c.r.URL.Path, apiPrefix)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.after != after || f.left <= 0 || (f.method != "" && !strings.EqualFold(f.method, c.r.Method)) {
			continue
		}
		if ok, _ := path.Match(f.pattern, p); ok {
			f.left--
			return f
		}
	}
	return nil
}

// handle runs a route's handler; a FailAfter fault lets it do its work
// and then replaces its answer.
func (s *Server) handle(c *call, h func(*call)) {
	hit := s.takeFault(c, true)
	if hit == nil {
		h(c)
		return
	}
	real := c.w
	c.w = &statusRecorder{ResponseWriter: &discardWriter{h: http.Header{}}}
	h(c)
	c.w = real
	c.writeFault(hit)
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func (c *call) writeFault(hit *fault) {
	switch {
	case hit.status == http.StatusForbidden || hit.status == http.StatusTooManyRequests:
		c.w.Header().Set("Retry-After", "1")
		c.json(hit.status, map[string]any{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	case hit.status >= 500:
		c.w.Header().Set("Content-Type", "text/html")
		c.w.WriteHeader(hit.status)
		fmt.Fprintf(c.w, "<html><body><h1>%d %s</h1>\n<p>We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists.</p></body></html>\n", hit.status, http.StatusText(hit.status))
	default:
		c.json(hit.status, errBody(http.StatusText(hit.status)))
	}
}

// errBody is GitHub's error document.
func errBody(msg string, errs ...any) map[string]any {
	m := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"}
	if len(errs) > 0 {
		m["errors"] = errs
	}
	return m
}

func (c *call) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.s.t.Errorf("githubtest: encode response: %v", err)
		status, b = http.StatusInternalServerError, []byte(`{"message":"fake encode error"}`)
	}
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(status)
	c.w.Write(b)
}

// unprocessable answers 422 with GitHub's validation-failed shape.
func (c *call) unprocessable(msg string, errs ...any) {
	c.json(http.StatusUnprocessableEntity, errBody(msg, errs...))
}

// unknownRoute fails the test: the caller built a URL GitHub does not serve.
func (c *call) unknownRoute() {
	// Never echo the query: it may carry a codeload token.
	c.s.t.Errorf("githubtest: request to unknown route %s %s", c.r.Method, c.r.URL.Path)
	c.json(http.StatusNotFound, errBody("Not Found"))
}

func (c *call) notFound() { c.json(http.StatusNotFound, errBody("Not Found")) }

// decode parses the JSON body into v; on failure it answers 400 like
// GitHub and returns false.
func (c *call) decode(v any) bool {
	if err := json.Unmarshal(c.body, v); err != nil {
		c.json(http.StatusBadRequest, errBody("Problems parsing JSON"))
		return false
	}
	return true
}

// repo resolves {owner}/{repo} and checks the caller may see it; answers 404
// and returns nil otherwise. Callers hold s.mu.
func (c *call) repo() *repo {
	rp := c.s.findRepo(c.r.PathValue("owner"), c.r.PathValue("repo"))
	if rp == nil || (c.who != nil && !c.who.canSee(rp)) {
		c.notFound()
		return nil
	}
	return rp
}

func (c *call) int64Path(name string) (int64, bool) {
	v, err := strconv.ParseInt(c.r.PathValue(name), 10, 64)
	if err != nil {
		c.notFound()
		return 0, false
	}
	return v, true
}

// paginate answers the page of n items the query asks for: the half-open
// index range, and a Link header (RFC 5988) with rel="next"/"last" (and
// "prev"/"first" after page 1) that go-github's Response.NextPage reads.
func (c *call) paginate(n int) (lo, hi int) {
	q := c.r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	last := max(1, (n+per-1)/per)
	link := func(p int, rel string) string {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, c.s.ts.URL, c.r.URL.EscapedPath(), q.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		c.w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo = min((page-1)*per, n)
	hi = min(lo+per, n)
	return lo, hi
}

func (s *Server) htmlURL(rp *repo, format string, args ...any) string {
	return fmt.Sprintf("https://github.com/%s/%s/", rp.owner, rp.name) + fmt.Sprintf(format, args...)
}

func (s *Server) apiURL(rp *repo, format string, args ...any) string {
	return s.URL() + fmt.Sprintf("repos/%s/%s/", rp.owner, rp.name) + fmt.Sprintf(format, args...)
}

func ts(t time.Time) *github.Timestamp { return &github.Timestamp{Time: t.UTC().Truncate(time.Second)} }
