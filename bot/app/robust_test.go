package app

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A review or check-run POST that GitHub carried out but answered 502 is
// not sent again blindly: before, the review was posted twice (two
// comments per finding), the next run struck the duplicates through as
// "no longer applies", and a second check run was left in progress.
func TestNonIdempotentPOSTs(t *testing.T) {
	e := newEnv(t, nil)
	e.seedPR(prNumber, headSHA)
	e.fake.FailAfter("POST", "/repos/acme/platform/pulls/*/reviews", http.StatusBadGateway, 1)
	e.fake.FailAfter("POST", "/repos/acme/platform/check-runs", http.StatusGatewayTimeout, 1)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("refused")
	}
	if got := e.wait(1); got[0] != jobFailure {
		t.Fatalf("outcome %v", got)
	}
	// A re-run on the same head: the finding still applies.
	if code, _ := e.deliver("check_run", "d-2", fixture(t, "check_run_rerequested.json", nil), nil); code != 202 {
		t.Fatal("re-run refused")
	}
	e.wait(1)
	if runs := e.fake.CheckRuns(owner, repoName); len(runs) != 1 || runs[0].Conclusion != "failure" {
		t.Errorf("check runs = %d, want one, failure", len(runs))
	}
	comments := e.fake.ReviewComments(owner, repoName, prNumber)
	if len(comments) != 1 {
		t.Fatalf("%d review comments, want 1", len(comments))
	}
	if strings.Contains(comments[0].Body, "~~") || strings.Contains(comments[0].Body, "no longer applies") {
		t.Errorf("a comment whose finding applies was struck through:\n%s", comments[0].Body)
	}
	if n := len(e.fake.Reviews(owner, repoName, prNumber)); n != 1 {
		t.Errorf("%d reviews, want 1", n)
	}
}

// Forty concurrent 5 MB bodies with a wrong signature, all sent before
// any is answered: at most MaxConcurrentReads are read at once, so the
// bytes buffered by unauthenticated requests stay bounded (before, all 40
// were buffered at once).
func TestWebhook_BoundedReads(t *testing.T) {
	const n, size = 40, 5 << 20
	var cur, peak atomic.Int64
	e := newEnv(t, func(c *Config) {
		c.MaxConcurrentReads = 2
		c.EnqueueWait = time.Minute // every request waits its turn: the bound, not a refusal, is tested
	})
	h := e.srv.Handler()
	body := bytes.Repeat([]byte("x"), size)
	start := make(chan struct{})
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &countingBody{r: bytes.NewReader(body), cur: &cur, peak: &peak}
			req, _ := http.NewRequest(http.MethodPost, "/webhook", r)
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "pull_request")
			req.Header.Set("X-Hub-Signature-256", sign([]byte("other"), secret))
			<-start
			w := &recorder{h: http.Header{}}
			h.ServeHTTP(w, req)
			codes[i] = w.code
		}()
	}
	close(start)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusUnauthorized {
			t.Fatalf("request %d: %d, want 401", i, c)
		}
	}
	if p := peak.Load(); p > 2 || p == 0 {
		t.Errorf("%d bodies read at once, want at most 2", p)
	}
}

// countingBody counts the bodies being read at once: from the first Read
// to EOF or Close.
type countingBody struct {
	r          io.Reader
	cur, peak  *atomic.Int64
	open, done bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	if !b.open {
		b.open = true
		c := b.cur.Add(1)
		for q := b.peak.Load(); c > q && !b.peak.CompareAndSwap(q, c); q = b.peak.Load() {
		}
	}
	n, err := b.r.Read(p)
	if err != nil {
		b.Close()
	}
	return n, err
}

func (b *countingBody) Close() error {
	if b.open && !b.done {
		b.done = true
		b.cur.Add(-1)
	}
	return nil
}

type recorder struct {
	h    http.Header
	code int
	buf  bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.buf.Write(b)
}
func (r *recorder) WriteHeader(c int) {
	if r.code == 0 {
		r.code = c
	}
}

// Signed events whose names GitHub would never produce are refused before
// any URL is built: before, owner "acme/../../app" made the App call
// GET /app/platform/commits/SHA/check-runs with the installation token.
func TestWebhook_NamesValidated(t *testing.T) {
	for _, tc := range []struct{ name, owner, repo string }{
		{"owner with a path", "acme/../../app", repoName},
		{"repository with a path", owner, "../../app"},
		{"repository dot-dot", owner, ".."},
		{"owner too long", strings.Repeat("a", 40), repoName},
		{"owner with a query", "acme?x=1", repoName},
		{"repository with a percent", owner, "platform%2f.."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			body := fixture(t, "pull_request_opened.json", func(m map[string]any) {
				r := m["repository"].(map[string]any)
				r["name"] = tc.repo
				r["owner"].(map[string]any)["login"] = tc.owner
			})
			code, resp := e.deliver("pull_request", "d-1", body, nil)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", code, resp)
			}
			if n := e.apiRequests(); n != 0 {
				t.Errorf("%d GitHub API requests, want none", n)
			}
		})
	}
	for _, ok := range [][2]string{{"acme", "platform"}, {"a-b-c", "x.y_z-1"}, {"A1", ".github"}} {
		if err := validRepo(ok[0], ok[1]); err != nil {
			t.Errorf("validRepo(%q, %q) = %v", ok[0], ok[1], err)
		}
	}
}

// Replies never echo input: before, an unknown 10,000-character event
// name came back in the 202's reason.
func TestWebhook_NoEcho(t *testing.T) {
	e := newEnv(t, nil)
	event := strings.Repeat("E", 10000)
	code, body := e.deliver(event, "d-1", []byte(`{"zen":"x"}`), nil)
	if code != http.StatusAccepted || strings.Contains(body, "EEEE") || len(body) > 200 {
		t.Errorf("%d %q", code, body)
	}
	action := strings.Repeat("A", 10000)
	code, body = e.deliver("pull_request", "d-2", prPayload(t, action, prNumber, headSHA), nil)
	if code != http.StatusAccepted || strings.Contains(body, "AAAA") || len(body) > 200 {
		t.Errorf("unknown action: %d %q", code, body)
	}
}

// A replica renews the lease of every run it holds, so the sweep of
// others leaves them alone while it lives.
func TestLeaseRenewal(t *testing.T) {
	b := newBlocker(headSHA)
	e := newEnv(t, func(c *Config) { c.Analyze = b.analyze(defaultAnalyze(c)) })
	e.seedPR(prNumber, headSHA)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("refused")
	}
	<-b.started
	leaseOf := func() lease {
		l, _ := parseLease(e.fake.CheckRuns(owner, repoName)[0].ExternalID)
		return l
	}
	before := leaseOf()
	if before.holder != "replica-a" {
		t.Fatalf("lease %+v, want held by replica-a", before)
	}
	e.srv.cfg.Now = func() time.Time { return time.Now().Add(time.Hour) }
	e.srv.renewOnce()
	if after := leaseOf(); after.holder != "replica-a" || !after.until.After(before.until.Add(59*time.Minute)) {
		t.Errorf("lease after renewal %+v, before %+v", after, before)
	}
	close(b.release)
	e.wait(1)
}

// From SIGTERM until the listener closes, /readyz answers 503 while the
// listener still serves: before, the listener closed at once.
func TestServe_ReadyzDuringDrain(t *testing.T) {
	gate := make(chan struct{})
	e := newEnv(t, func(c *Config) { c.DrainDelay = time.Hour })
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	// The drain delay is cut short by the test: the timer is replaced by
	// the gate through drainWait.
	e.srv.drainWait = func(time.Duration) { <-gate }
	errc := make(chan error, 1)
	go func() { errc <- e.srv.Serve(ctx, ln, nil) }()
	url := "http://" + ln.Addr().String() + "/readyz"
	waitStatus(t, url, http.StatusOK)
	cancel()
	waitStatus(t, url, http.StatusServiceUnavailable)
	close(gate)
	if err := <-errc; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("listener still open after Serve returned")
	}
}

// waitStatus polls url until it answers want; the guard only bounds a hang.
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never answered %d (last: %v)", url, want, err)
		}
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// GitHub outages delay the verdict, never replace it: before, a check-run
// PATCH answered 503 four times left a run with findings neutral, a
// tarball 500 four times did the same, and 503 four times on creating the
// run left no run at all.
func TestWebhook_OutagesRetried(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		status, times      int
	}{
		{"complete the run: 503 ×4", "PATCH", "/repos/acme/platform/check-runs/*", http.StatusServiceUnavailable, 4},
		{"tarball: 500 ×4", "GET", "/repos/acme/platform/tarball/*", http.StatusInternalServerError, 4},
		{"tarball: 404 ×2", "GET", "/repos/acme/platform/tarball/*", http.StatusNotFound, 2},
		{"create the run: 503 ×4", "POST", "/repos/acme/platform/check-runs", http.StatusServiceUnavailable, 4},
		{"files: 502 ×8", "GET", "/repos/acme/platform/pulls/*/files", http.StatusBadGateway, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.seedPR(prNumber, headSHA)
			e.fake.FailNext(tc.method, tc.path, tc.status, tc.times)
			if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
				t.Fatal("refused")
			}
			if got := e.wait(1); got[0] != jobFailure {
				t.Fatalf("outcome %v, want the verdict", got)
			}
			runs := e.fake.CheckRuns(owner, repoName)
			if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Title, "merge blocked") {
				t.Fatalf("runs = %+v", runs)
			}
			if n := len(e.fake.ReviewComments(owner, repoName, prNumber)); n != 1 {
				t.Errorf("%d review comments, want 1", n)
			}
		})
	}
}

// With MetricsListen, /metrics moves to its own handler (its own port):
// the webhook listener, reachable from GitHub, no longer serves it.
func TestMetricsListen(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MetricsListen = "127.0.0.1:0" })
	w := &recorder{h: http.Header{}}
	e.srv.Handler().ServeHTTP(w, httptestRequest("/metrics"))
	if w.code != http.StatusNotFound {
		t.Errorf("GET /metrics on the webhook listener: %d, want 404", w.code)
	}
	w = &recorder{h: http.Header{}}
	e.srv.MetricsHandler().ServeHTTP(w, httptestRequest("/metrics"))
	if w.code != http.StatusOK || !strings.Contains(w.buf.String(), "rbacguard_queue_depth") {
		t.Errorf("GET /metrics on the metrics listener: %d", w.code)
	}
}

func httptestRequest(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, path, nil)
	return r
}
