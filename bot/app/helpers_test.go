package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/tools/txtar"

	"github.com/rbacguard/rbacguard/bot"
	"github.com/rbacguard/rbacguard/bot/githubtest"
)

// The identities of the fixtures in testdata/app.
const (
	appID     = 4242
	instID    = 7
	owner     = "acme"
	repoName  = "platform"
	prNumber  = 12
	headSHA   = "9f3c2a1b7d4e5f60718293a4b5c6d7e8f9012345"
	baseSHA   = "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678"
	secret    = "it's a secret to everybody"
	fixtures  = "../../testdata/app"
	checkName = "rbacguard"
)

// One key for the whole test binary: RSA generation is slow.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func keyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey())})
}

// repoTrees reads testdata/app/repo.txtar: the base and head trees.
func repoTrees(t *testing.T) (base, head map[string]string) {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join(fixtures, "repo.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	base, head = map[string]string{}, map[string]string{}
	for _, f := range ar.Files {
		side, name, _ := strings.Cut(f.Name, "/")
		if side == "base" {
			base[name] = string(f.Data)
		} else {
			head[name] = string(f.Data)
		}
	}
	return base, head
}

// patch is a one-hunk unified diff between a and b with three lines of
// context, the way GitHub's files API shows a small change.
func patch(a, b string) string {
	x := strings.SplitAfter(a, "\n")
	y := strings.SplitAfter(b, "\n")
	if x[len(x)-1] == "" {
		x = x[:len(x)-1]
	}
	if y[len(y)-1] == "" {
		y = y[:len(y)-1]
	}
	p := 0
	for p < len(x) && p < len(y) && x[p] == y[p] {
		p++
	}
	q := 0
	for q < len(x)-p && q < len(y)-p && x[len(x)-1-q] == y[len(y)-1-q] {
		q++
	}
	lo := max(0, p-3)
	hiX, hiY := min(len(x), len(x)-q+3), min(len(y), len(y)-q+3)
	var sb strings.Builder
	fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", lo+1, hiX-lo, lo+1, hiY-lo)
	for i := lo; i < p; i++ {
		sb.WriteString(" " + x[i])
	}
	for i := p; i < len(x)-q; i++ {
		sb.WriteString("-" + x[i])
	}
	for i := p; i < len(y)-q; i++ {
		sb.WriteString("+" + y[i])
	}
	for i := len(y) - q; i < hiY; i++ {
		sb.WriteString(" " + y[i])
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// stub serves what the fake GitHub lacks (listing installations, their
// repositories and open pull requests, and compare) and proxies the rest
// to it. Its lists page by two, so that pagination is exercised.
type stub struct {
	fake  *githubtest.Server
	ts    *httptest.Server
	calls atomic.Int64

	mu    sync.Mutex
	repos []string              // owner/name of installation instID
	open  map[string][]stubPull // owner/name → open pull requests
	merge map[string]string     // base...head → merge base
}

type stubPull struct {
	Number  int
	HeadSHA string
}

const stubPage = 2

func newStub(t *testing.T, fake *githubtest.Server) *stub {
	s := &stub{fake: fake, open: map[string][]stubPull{}, merge: map[string]string{}}
	target, err := url.Parse(strings.TrimSuffix(fake.URL(), "api-v3/"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api-v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if !s.verifyJWT(r) {
			http.Error(w, `{"message":"A JSON web token could not be decoded"}`, http.StatusUnauthorized)
			return
		}
		s.page(w, r, []any{map[string]any{"id": instID, "app_id": appID, "account": map[string]any{"login": owner}}}, nil)
	})
	mux.HandleFunc("GET /api-v3/app", func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if !s.verifyJWT(r) {
			http.Error(w, `{"message":"A JSON web token could not be decoded"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": appID, "slug": "rbacguard", "name": "rbacguard"})
	})
	mux.HandleFunc("GET /api-v3/installation/repositories", func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "token ghs_") {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		var items []any
		for _, full := range s.repos {
			o, n, _ := strings.Cut(full, "/")
			items = append(items, map[string]any{"name": n, "full_name": full, "owner": map[string]any{"login": o}})
		}
		s.mu.Unlock()
		s.page(w, r, items, func(page []any) any { return map[string]any{"total_count": len(items), "repositories": page} })
	})
	mux.HandleFunc("GET /api-v3/repos/{owner}/{repo}/pulls", func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if r.URL.Query().Get("state") != "open" {
			http.Error(w, `{"message":"want state=open"}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		var items []any
		for _, p := range s.open[r.PathValue("owner")+"/"+r.PathValue("repo")] {
			items = append(items, map[string]any{"number": p.Number, "state": "open", "head": map[string]any{"sha": p.HeadSHA}})
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if items == nil {
			items = []any{}
		}
		json.NewEncoder(w).Encode(items)
	})
	mux.HandleFunc("GET /api-v3/repos/{owner}/{repo}/compare/{basehead}", func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		base, head, ok := strings.Cut(r.PathValue("basehead"), "...")
		if !ok {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		s.mu.Lock()
		mb, ok := s.merge[base+"..."+head]
		s.mu.Unlock()
		if !ok {
			mb = base
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "ahead", "merge_base_commit": map[string]any{"sha": mb}, "base_commit": map[string]any{"sha": base}})
	})
	mux.Handle("/", proxy)
	s.ts = httptest.NewServer(mux)
	t.Cleanup(s.ts.Close)
	return s
}

func (s *stub) verifyJWT(r *http.Request) bool {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	_, err := jwt.Parse(v, func(*jwt.Token) (any, error) { return &testKey().PublicKey, nil }, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(strconv.Itoa(appID)))
	return err == nil
}

// page answers one page of items (stubPage per page) with a Link header.
func (s *stub) page(w http.ResponseWriter, r *http.Request, items []any, wrap func([]any) any) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	lo := min((page-1)*stubPage, len(items))
	hi := min(lo+stubPage, len(items))
	if hi < len(items) {
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?page=%d>; rel="next"`, s.ts.URL, r.URL.Path, page+1))
	}
	var body any = append([]any{}, items[lo:hi]...)
	if wrap != nil {
		body = wrap(items[lo:hi])
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// env is one App under test: the fake GitHub, the stub in front of it and
// the server's handler on a loopback listener.
type env struct {
	t      *testing.T
	fake   *githubtest.Server
	stub   *stub
	srv    *Server
	hooks  *httptest.Server
	sleeps *sleeps
	done   chan string // job outcomes, in completion order
}

// sleeps records the retry transport's waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newEnv(t *testing.T, configure func(*Config), fakeOpts ...githubtest.Option) *env {
	t.Helper()
	fake := githubtest.NewServer(t, fakeOpts...)
	fake.SetApp(appID, &testKey().PublicKey)
	fake.AddInstallation(instID, owner, repoName)
	st := newStub(t, fake)
	st.repos = []string{owner + "/" + repoName}
	e := &env{t: t, fake: fake, stub: st, sleeps: &sleeps{}, done: make(chan string, 1024)}
	cfg := DefaultConfig()
	cfg.AppID = appID
	cfg.PrivateKey = keyPEM()
	cfg.WebhookSecret = []byte(secret)
	cfg.BaseURL = st.ts.URL + "/api-v3/"
	cfg.Workers = 2
	cfg.QueueSize = 16
	cfg.EnqueueWait = 0
	cfg.Retry = bot.RetryOptions{Sleep: e.sleeps.sleep}
	cfg.Version = "test"
	// Job retries wait real timers of a millisecond or two; no test waits
	// for time to pass, only for outcomes.
	cfg.RetryBase, cfg.RetryMax = time.Millisecond, 2*time.Millisecond
	cfg.ReplicaID = "replica-a"
	cfg.SweepEvery = 0
	cfg.DrainDelay = 0
	if configure != nil {
		configure(&cfg)
	}
	srv, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.afterJob = func(_ *job, outcome string) { e.done <- outcome }
	e.srv = srv
	e.hooks = httptest.NewServer(srv.Handler())
	t.Cleanup(e.hooks.Close)
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return e
}

// replica starts another App server on the same fake and stub, as a
// second replica of one deployment.
func (e *env) replica(t *testing.T, id string) *env {
	t.Helper()
	r := &env{t: t, fake: e.fake, stub: e.stub, sleeps: e.sleeps, done: make(chan string, 1024)}
	cfg := e.srv.cfg
	cfg.ReplicaID = id
	srv, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.afterJob = func(_ *job, outcome string) { r.done <- outcome }
	r.srv = srv
	r.hooks = httptest.NewServer(srv.Handler())
	t.Cleanup(r.hooks.Close)
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return r
}

// seedPR serves the fixture repository's trees at baseSHA and head and
// seeds pull request n with the patches between them.
func (e *env) seedPR(n int, head string) {
	e.t.Helper()
	base, headFiles := repoTrees(e.t)
	e.fake.SetTarball(owner, repoName, baseSHA, base)
	e.fake.SetTarball(owner, repoName, head, headFiles)
	e.seedPull(n, head, base, headFiles)
}

// seedPull adds pull request n against baseSHA with the patches between
// base and head.
func (e *env) seedPull(n int, head string, base, headFiles map[string]string) {
	var files []githubtest.File
	for name, body := range headFiles {
		if base[name] != body {
			files = append(files, githubtest.File{Filename: name, Status: "modified", Patch: patch(base[name], body)})
		}
	}
	e.fake.AddPullRequest(owner, repoName, githubtest.PullRequest{
		Number: n, BaseSHA: baseSHA, HeadSHA: head, BaseRef: "main", HeadRef: fmt.Sprintf("change-%d", n), Files: files,
	})
}

// fixture reads a payload from testdata/app and applies edits to it.
func fixture(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// prPayload is the pull_request fixture for pull request n at head.
func prPayload(t *testing.T, action string, n int, head string) []byte {
	return fixture(t, "pull_request_opened.json", func(m map[string]any) {
		m["action"] = action
		m["number"] = n
		pr := m["pull_request"].(map[string]any)
		pr["number"] = n
		pr["head"].(map[string]any)["sha"] = head
	})
}

func sign(body []byte, key string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post delivers a signed pull request event; safe in any goroutine.
func (e *env) post(event, delivery string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, e.hooks.URL+"/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", sign(body, secret))
	resp, err := e.hooks.Client().Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// deliver posts a webhook as GitHub does; headers may override or, with
// an empty value, remove the defaults.
func (e *env) deliver(event, delivery string, body []byte, headers map[string]string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.hooks.URL+"/webhook", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/5a1b2c3")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-GitHub-Hook-ID", "30303030")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.Itoa(appID))
	req.Header.Set("X-Hub-Signature-256", sign(body, secret))
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.hooks.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wait returns the outcomes of the next n jobs. The timeout only guards
// against a hang; nothing waits for time to pass.
func (e *env) wait(n int) []string {
	e.t.Helper()
	var out []string
	guard := time.NewTimer(60 * time.Second)
	defer guard.Stop()
	for len(out) < n {
		select {
		case o := <-e.done:
			out = append(out, o)
		case <-guard.C:
			e.t.Fatalf("only %d of %d jobs finished: %v", len(out), n, out)
		}
	}
	return out
}

// counter reads a counter or the sample count of a histogram from the
// server's registry; labels are name=value pairs.
func (e *env) counter(name string, labels ...string) float64 {
	e.t.Helper()
	mfs, err := e.srv.m.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	var total float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}

// apiRequests counts the requests GitHub received (fake and stub).
func (e *env) apiRequests() int {
	return len(e.fake.Requests()) + int(e.stub.calls.Load())
}
