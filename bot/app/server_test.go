package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/bot"
	"github.com/rbacguard/rbacguard/bot/githubtest"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

func TestAppJWT(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 500_000_000, time.UTC)
	tok, err := AppJWT(testKey(), appID, now)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithIssuer("4242"))
	parsed, err := p.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &testKey().PublicKey, nil })
	if err != nil {
		t.Fatalf("verify with the public key: %v", err)
	}
	if parsed.Header["alg"] != "RS256" {
		t.Errorf("alg = %v", parsed.Header["alg"])
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	want := now.Truncate(time.Second)
	if !iat.Time.Equal(want.Add(-60 * time.Second)) {
		t.Errorf("iat = %v, want 60 s before %v", iat.Time, want)
	}
	if d := exp.Time.Sub(want); d <= 0 || d > 10*time.Minute {
		t.Errorf("exp is %v after now, want (0, 10m]", d)
	}
	// Integer NumericDates: GitHub refuses fractions.
	seg := strings.Split(tok, ".")[1]
	payload, _ := jwt.NewParser().DecodeSegment(seg)
	if strings.Contains(string(payload), ".") {
		t.Errorf("claims carry fractional times: %s", payload)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ParseWithClaims(tok, jwt.MapClaims{}, func(*jwt.Token) (any, error) { return &other.PublicKey, nil }); err == nil {
		t.Error("token verifies with another key")
	}
}

func TestConfig_Validate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.AppID, c.PrivateKey, c.WebhookSecret = 1, keyPEM(), []byte("s")
		return c
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"valid", func(*Config) {}, ""},
		{"no webhook secret", func(c *Config) { c.WebhookSecret = nil }, "webhook secret is required"},
		{"no app id", func(c *Config) { c.AppID = 0 }, "app id is required"},
		{"no private key", func(c *Config) { c.PrivateKey = nil }, "private key is required"},
		{"bad private key", func(c *Config) {
			c.PrivateKey = []byte("-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n")
		}, "not a PEM-encoded RSA private key"},
		{"relative github url", func(c *Config) { c.BaseURL = "api.github.com" }, "github url"},
		{"no workers", func(c *Config) { c.Workers = 0 }, "workers must be between"},
		{"no queue", func(c *Config) { c.QueueSize = 0 }, "queue size"},
		{"stale before timeout", func(c *Config) { c.StaleAfter = c.JobTimeout }, "stale-after"},
		{"bad comment mode", func(c *Config) { c.CommentMode = "loud" }, "comment mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "nope") {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

// A signed pull_request delivery in GitHub's shape ends in a completed
// check run with the finding as annotation and review comment.
func TestWebhook_PullRequestOpened(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []githubtest.Option
	}{
		{"tarball served directly", nil},
		{"tarball redirect to codeload", []githubtest.Option{githubtest.TarballRedirect()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, tc.opts...)
			e.seedPR(prNumber, headSHA)
			code, body := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil)
			if code != http.StatusAccepted {
				t.Fatalf("status %d %s", code, body)
			}
			if got := e.wait(1); got[0] != jobFailure {
				t.Fatalf("outcome %v, want failure (the gate fails on secrets read)", got)
			}
			runs := e.fake.CheckRuns(owner, repoName)
			if len(runs) != 1 {
				t.Fatalf("%d check runs, want 1", len(runs))
			}
			cr := runs[0]
			if cr.Name != checkName || cr.HeadSHA != headSHA || cr.Status != "completed" || cr.Conclusion != "failure" || cr.ExternalID != "12" {
				t.Errorf("check run = %+v", cr)
			}
			if len(cr.Annotations) == 0 || cr.Annotations[0].Path != "role.yaml" {
				t.Errorf("annotations = %+v", cr.Annotations)
			}
			comments := e.fake.ReviewComments(owner, repoName, prNumber)
			if len(comments) != 1 || comments[0].Path != "role.yaml" || comments[0].Line != 11 || comments[0].CommitID != headSHA {
				t.Fatalf("review comments = %+v", comments)
			}
			if !strings.Contains(comments[0].Body, "secrets") {
				t.Errorf("comment body %q does not mention secrets", comments[0].Body)
			}
			for _, r := range e.fake.Requests() {
				if strings.Contains(r.Path, "/codeload/") && r.Auth != "none" {
					t.Errorf("archive link fetched with credentials (%s)", r.Auth)
				}
			}
			if got := e.counter("rbacguard_webhook_deliveries_total", "event", "pull_request", "outcome", "accepted"); got != 1 {
				t.Errorf("accepted deliveries = %v", got)
			}
			if got := e.counter("rbacguard_job_duration_seconds", "outcome", jobFailure); got != 1 {
				t.Errorf("jobs observed = %v", got)
			}
			if got := e.counter("rbacguard_github_api_requests_total", "status", "201"); got < 2 {
				t.Errorf("201 API calls = %v, want the token and the check run at least", got)
			}
		})
	}
}

func TestWebhook_Refused(t *testing.T) {
	body := fixture(t, "pull_request_opened.json", nil)
	tests := []struct {
		name    string
		body    []byte
		headers map[string]string
		status  int
		outcome string
	}{
		{"unsigned", body, map[string]string{"X-Hub-Signature-256": ""}, 401, outcomeUnsigned},
		{"wrong secret", body, map[string]string{"X-Hub-Signature-256": sign(body, "guess")}, 401, outcomeBadSignature},
		{"sha1 only", body, map[string]string{"X-Hub-Signature-256": "", "X-Hub-Signature": "sha1=0123456789abcdef0123456789abcdef01234567"}, 401, outcomeUnsigned},
		{"garbage signature", body, map[string]string{"X-Hub-Signature-256": "sha256=zz"}, 401, outcomeBadSignature},
		{"body tampered", append([]byte(" "), body...), map[string]string{"X-Hub-Signature-256": sign(body, secret)}, 401, outcomeBadSignature},
		{"too large", []byte(`{"pad":"` + strings.Repeat("x", 20<<10) + `"}`), nil, 413, outcomeTooLarge},
		{"content type", body, map[string]string{"Content-Type": "text/plain"}, 415, outcomeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 16 << 10 })
			e.seedPR(prNumber, headSHA)
			headers := map[string]string{}
			for k, v := range tc.headers {
				headers[k] = v
			}
			if tc.name == "too large" {
				headers["X-Hub-Signature-256"] = sign(tc.body, secret)
			}
			code, resp := e.deliver("pull_request", "d-1", tc.body, headers)
			if code != tc.status {
				t.Fatalf("status %d (%s), want %d", code, resp, tc.status)
			}
			if got := e.counter("rbacguard_webhook_deliveries_total", "outcome", tc.outcome); got != 1 {
				t.Errorf("deliveries with outcome %s = %v", tc.outcome, got)
			}
			// Nothing was queued, so nothing can reach GitHub later.
			if n := len(e.srv.q.all); n != 0 {
				t.Errorf("%d jobs queued", n)
			}
			if n := e.apiRequests(); n != 0 {
				t.Errorf("%d GitHub API requests, want none", n)
			}
		})
	}
}

func TestWebhook_NotActedOn(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, event string
		body        []byte
		status      int
		outcome     string
	}{
		{"ping", "ping", fixture(t, "ping.json", nil), 200, outcomePing},
		{"unknown event", "issues", []byte(`{"action":"opened","issue":{"number":1}}`), 202, outcomeIgnored},
		{"installation", "installation", fixture(t, "installation_created.json", nil), 202, outcomeIgnored},
		{"pull request closed", "pull_request", prPayload(t, "closed", prNumber, headSHA), 202, outcomeIgnored},
		{"pull request labeled", "pull_request", prPayload(t, "labeled", prNumber, headSHA), 202, outcomeIgnored},
		{"check run of another app", "check_run", fixture(t, "check_run_rerequested.json", func(m map[string]any) {
			m["check_run"].(map[string]any)["app"].(map[string]any)["id"] = 15368
		}), 202, outcomeIgnored},
		{"requested action", "check_run", fixture(t, "check_run_rerequested.json", func(m map[string]any) { m["action"] = "requested_action" }), 202, outcomeIgnored},
		{"malformed", "pull_request", []byte(`{"action":"opened","pull_request":`), 400, outcomeBadRequest},
		{"no installation", "pull_request", fixture(t, "pull_request_opened.json", func(m map[string]any) { delete(m, "installation") }), 400, outcomeBadRequest},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.deliver(tc.event, fmt.Sprintf("n-%d", i), tc.body, nil)
			if code != tc.status {
				t.Fatalf("status %d (%s), want %d", code, body, tc.status)
			}
			if got := e.counter("rbacguard_webhook_deliveries_total", "event", eventLabel(tc.event), "outcome", tc.outcome); got < 1 {
				t.Errorf("no delivery counted as %s/%s", eventLabel(tc.event), tc.outcome)
			}
		})
	}
	if n := e.apiRequests(); n != 0 {
		t.Errorf("%d GitHub API requests, want none", n)
	}
}

// Redelivery (same delivery id), a second delivery of the same head and a
// re-run produce one check run and one review comment.
func TestWebhook_Redelivery(t *testing.T) {
	e := newEnv(t, nil)
	e.seedPR(prNumber, headSHA)
	body := fixture(t, "pull_request_opened.json", nil)
	if code, resp := e.deliver("pull_request", "d-1", body, nil); code != 202 {
		t.Fatalf("first delivery: %d %s", code, resp)
	}
	e.wait(1)
	if code, resp := e.deliver("pull_request", "d-1", body, nil); code != 202 || !strings.Contains(resp, "duplicate") {
		t.Fatalf("redelivery: %d %s", code, resp)
	}
	if code, resp := e.deliver("pull_request", "d-2", prPayload(t, "reopened", prNumber, headSHA), nil); code != 202 || !strings.Contains(resp, "duplicate") {
		t.Fatalf("same head again: %d %s", code, resp)
	}
	if got := e.counter("rbacguard_webhook_deliveries_total", "outcome", outcomeDuplicate); got != 2 {
		t.Errorf("duplicates = %v", got)
	}
	// An explicit re-run does run again, and still adds nothing.
	if code, resp := e.deliver("check_run", "d-3", fixture(t, "check_run_rerequested.json", nil), nil); code != 202 || !strings.Contains(resp, "accepted") {
		t.Fatalf("re-run: %d %s", code, resp)
	}
	e.wait(1)
	if code, resp := e.deliver("check_suite", "d-4", fixture(t, "check_suite_rerequested.json", nil), nil); code != 202 || !strings.Contains(resp, "accepted") {
		t.Fatalf("suite re-run: %d %s", code, resp)
	}
	e.wait(1)
	runs := e.fake.CheckRuns(owner, repoName)
	if len(runs) != 1 || runs[0].Conclusion != "failure" {
		t.Fatalf("check runs = %+v, want one, failure", runs)
	}
	if n := len(e.fake.ReviewComments(owner, repoName, prNumber)); n != 1 {
		t.Errorf("%d review comments, want 1", n)
	}
	var creates int
	for _, r := range e.fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/check-runs") {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("%d check-run creates, want 1", creates)
	}
	// One installation token for three jobs: it is cached.
	var tokens int
	for _, r := range e.fake.Requests() {
		if strings.HasSuffix(r.Path, "/access_tokens") {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("%d installation tokens minted, want 1", tokens)
	}
}

// A tree over its limits is a high finding naming the largest files, so
// the gate fails with a reason: before, the run ended neutral, which
// passes a required check.
func TestWebhook_TreeTooLarge(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Limits = source.Limits{MaxFileBytes: 1 << 10, MaxTotalBytes: 100, MaxFiles: 100} })
	e.seedPR(prNumber, headSHA)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("refused")
	}
	if got := e.wait(1); got[0] != jobFailure {
		t.Fatalf("outcome %v, want failure", got)
	}
	runs := e.fake.CheckRuns(owner, repoName)
	if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Summary, "over rbacguard's limits") ||
		!strings.Contains(runs[0].Summary, "largest files: kustomization.yaml (129 bytes)") {
		t.Fatalf("runs = %+v", runs)
	}
}

// The measured attack: a head adding a cluster-admin binding plus one
// 4,000,000-byte file and 70 symbolic links to it (280 MB read) used to end
// neutral ("tree too large"), which passes a required check. Now the run
// fails with a high finding naming the largest files.
func TestWebhook_TreeTooLargeThroughLinks(t *testing.T) {
	e := newEnv(t, nil) // the default limits: 256 MiB, 4 MiB per file
	e.seedPR(prNumber, headSHA)
	_, head := repoTrees(t)
	head["crb.yaml"] = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: all}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: Group, name: system:authenticated, apiGroup: rbac.authorization.k8s.io}]\n"
	head["blob.txt"] = strings.Repeat("x", 4_000_000)
	for i := range 70 {
		head[fmt.Sprintf("links/l%02d.txt", i)] = githubtest.Symlink("../blob.txt")
	}
	e.fake.SetTarball(owner, repoName, headSHA, head)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("refused")
	}
	if got := e.wait(1); got[0] != jobFailure {
		t.Fatalf("outcome %v, want failure", got)
	}
	runs := e.fake.CheckRuns(owner, repoName)
	if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Summary, "the head tree is over rbacguard's limits") ||
		!strings.Contains(runs[0].Summary, "blob.txt (4000000 bytes)") {
		t.Fatalf("runs = %+v", runs)
	}
}

// The first check-run create answers 502: retried below go-github, and
// the run completes. A secondary rate limit on the update is waited out.
func TestWebhook_RetriesFaults(t *testing.T) {
	e := newEnv(t, nil)
	e.seedPR(prNumber, headSHA)
	e.fake.FailNext("POST", "/repos/acme/platform/check-runs", http.StatusBadGateway, 1)
	e.fake.FailNext("PATCH", "/repos/acme/platform/check-runs/*", http.StatusForbidden, 1)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatalf("status %d", code)
	}
	if got := e.wait(1); got[0] != jobFailure {
		t.Fatalf("outcome %v", got)
	}
	runs := e.fake.CheckRuns(owner, repoName)
	if len(runs) != 1 || runs[0].Status != "completed" {
		t.Fatalf("check runs = %+v", runs)
	}
	if got := e.counter("rbacguard_github_api_requests_total", "status", "502"); got != 1 {
		t.Errorf("502s counted = %v", got)
	}
	// The create is not sent twice blindly: Start looked for the run
	// first, found none, and created it once more.
	waits := e.sleeps.all()
	if !cmpContains(waits, time.Second) || len(waits) != 1 {
		t.Errorf("retry waits = %v, want the 1 s Retry-After only", waits)
	}
}

func cmpContains(ds []time.Duration, d time.Duration) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// A tarball GitHub has not built yet (404) is waited for: the job is
// re-queued with backoff and the run shows "Retrying" meanwhile; before,
// the run ended neutral at once.
func TestWebhook_TransientRetriedAsJob(t *testing.T) {
	e := newEnv(t, nil)
	e.seedPR(prNumber, headSHA)
	e.fake.FailNext("GET", "/repos/acme/platform/tarball/*", http.StatusNotFound, 3)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatalf("status %d", code)
	}
	if got := e.wait(1); got[0] != jobFailure {
		t.Fatalf("outcome %v, want the verdict (failure)", got)
	}
	runs := e.fake.CheckRuns(owner, repoName)
	if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Title, "merge blocked") {
		t.Fatalf("check runs = %+v", runs)
	}
	if h := strings.Join(runs[0].StatusHistory, " "); !strings.Contains(h, "in_progress queued in_progress") {
		t.Errorf("status history %s: the run was not queued again while retrying", h)
	}
	if got := e.counter("rbacguard_job_duration_seconds", "outcome", jobRetrying); got != 3 {
		t.Errorf("retried attempts = %v, want 3", got)
	}
	retrying := 0
	for _, r := range e.fake.Requests() {
		if r.Method == "PATCH" && strings.Contains(string(r.Body), `"title":"Retrying: download tarball`) && strings.Contains(string(r.Body), `"status":"queued"`) {
			retrying++
		}
	}
	if retrying != 3 {
		t.Errorf("%d updates showed \"Retrying: …\" on a queued run, want 3", retrying)
	}
}

// A check-run PATCH answering 503 on every try outlasts RetryFor: the run
// is concluded failure — never neutral — saying GitHub kept failing.
func TestWebhook_OutageConcludesFailure(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RetryFor = 20 * time.Millisecond })
	e.seedPR(prNumber, headSHA)
	// Every tarball fetch fails; the run itself can be written.
	e.fake.FailNext("GET", "/repos/acme/platform/tarball/*", http.StatusInternalServerError, 1000)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatalf("status %d", code)
	}
	if got := e.wait(1); got[0] != jobError {
		t.Fatalf("outcome %v", got)
	}
	runs := e.fake.CheckRuns(owner, repoName)
	if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Title, "GitHub kept failing") ||
		!strings.Contains(runs[0].Summary, "What to do:") {
		t.Fatalf("check runs = %+v", runs)
	}
}

// blocker is an Analyze hook that holds the jobs of chosen heads until
// released or cancelled, and analyses the rest for real.
type blocker struct {
	heads    map[string]bool
	started  chan string
	release  chan struct{}
	inFlight atomic.Int64
	peak     atomic.Int64
}

func newBlocker(heads ...string) *blocker {
	b := &blocker{heads: map[string]bool{}, started: make(chan string, 64), release: make(chan struct{})}
	for _, h := range heads {
		b.heads[h] = true
	}
	return b
}

func (b *blocker) analyze(real func(context.Context, source.Tree, source.Tree) (*report.Report, error)) func(context.Context, source.Tree, source.Tree) (*report.Report, error) {
	return func(ctx context.Context, base, head source.Tree) (*report.Report, error) {
		if b.heads[head.Rev()] {
			b.started <- head.Rev()
			select {
			case <-b.release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return real(ctx, base, head)
	}
}

// A newer push cancels the job of the older head, whose run is completed
// cancelled, "superseded by <sha7>" (it was neutral, which passes).
func TestSupersede(t *testing.T) {
	const newHead = "aaaabbbbccccddddeeeeffff0000111122223333"
	b := newBlocker(headSHA)
	e := newEnv(t, func(c *Config) { c.Analyze = b.analyze(defaultAnalyze(c)) })
	e.seedPR(prNumber, headSHA)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("first push refused")
	}
	<-b.started
	e.seedPR(prNumber, newHead)
	if code, _ := e.deliver("pull_request", "d-2", prPayload(t, "synchronize", prNumber, newHead), nil); code != 202 {
		t.Fatal("second push refused")
	}
	got := e.wait(2)
	if diff := cmp.Diff([]string{jobFailure, jobSuperseded}, sortedOutcomes(got)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	byHead := map[string]githubtest.CheckRun{}
	for _, cr := range e.fake.CheckRuns(owner, repoName) {
		byHead[cr.HeadSHA] = cr
	}
	old := byHead[headSHA]
	if old.Conclusion != "cancelled" || !strings.Contains(old.Title, "superseded by aaaabbb") {
		t.Errorf("old head's run: %s %q", old.Conclusion, old.Summary)
	}
	if byHead[newHead].Conclusion != "failure" {
		t.Errorf("new head's run: %+v", byHead[newHead])
	}
}

func sortedOutcomes(o []string) []string {
	out := append([]string(nil), o...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// defaultAnalyze is what New installs when Config.Analyze is nil.
func defaultAnalyze(c *Config) func(context.Context, source.Tree, source.Tree) (*report.Report, error) {
	o := c.Diff
	return func(ctx context.Context, base, head source.Tree) (*report.Report, error) {
		return diff.Run(ctx, base, head, o)
	}
}

func TestQueueFull(t *testing.T) {
	const head2, head3 = "2222222222222222222222222222222222222222", "3333333333333333333333333333333333333333"
	b := newBlocker(headSHA)
	e := newEnv(t, func(c *Config) {
		c.Workers, c.QueueSize = 1, 1
		c.Analyze = b.analyze(defaultAnalyze(c))
	})
	e.seedPR(prNumber, headSHA)
	e.seedPR(13, head2)
	e.seedPR(14, head3)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("first refused")
	}
	<-b.started // the only worker is busy; the queue is empty
	if code, _ := e.deliver("pull_request", "d-2", prPayload(t, "opened", 13, head2), nil); code != 202 {
		t.Fatal("second refused")
	}
	code, body := e.deliver("pull_request", "d-3", prPayload(t, "opened", 14, head3), nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, outcomeQueueFull) {
		t.Fatalf("third: %d %s, want 503 queue_full", code, body)
	}
	if got := e.counter("rbacguard_queue_depth"); got != 1 {
		t.Errorf("queue depth = %v", got)
	}
	close(b.release)
	e.wait(2)
	// Refused deliveries are not remembered: GitHub's redelivery works.
	if code, _ := e.deliver("pull_request", "d-3", prPayload(t, "opened", 14, head3), nil); code != 202 {
		t.Fatalf("redelivery after a 503: %d", code)
	}
	e.wait(1)
}

// 200 deliveries at once on 3 workers and 8 queue slots: every one is
// processed, none dropped, and no more than 3 jobs and 8 queued ever
// exist at a time.
func TestManyDeliveries(t *testing.T) {
	const n = 200
	var inFlight, peak atomic.Int64
	var maxQueued atomic.Int64
	var e *env
	e = newEnv(t, func(c *Config) {
		c.Workers, c.QueueSize = 3, 8
		c.EnqueueWait = time.Minute // back-pressure: a bound, never reached here
		c.CommentMode = bot.CommentOff
		c.Analyze = func(ctx context.Context, base, head source.Tree) (*report.Report, error) {
			cur := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
			}
			q := int64(len(e.srv.q.ch))
			for p := maxQueued.Load(); q > p && !maxQueued.CompareAndSwap(p, q); p = maxQueued.Load() {
			}
			r := &report.Report{Mode: "diff", Base: base.Rev(), Head: head.Rev()}
			r.Finish(report.High)
			return r, nil
		}
	})
	base, headFiles := repoTrees(t)
	e.fake.SetTarball(owner, repoName, baseSHA, base)
	heads := make([]string, n)
	for i := range n {
		heads[i] = fmt.Sprintf("%040x", 0xabc000+i)
		e.fake.SetTarball(owner, repoName, heads[i], headFiles)
		e.fake.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 100 + i, BaseSHA: baseSHA, HeadSHA: heads[i], BaseRef: "main", HeadRef: fmt.Sprintf("b%d", i)})
	}
	payloads := make([][]byte, n)
	for i := range n {
		payloads[i] = prPayload(t, "opened", 100+i, heads[i])
	}
	var wg sync.WaitGroup
	codes := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], errs[i] = e.post("pull_request", fmt.Sprintf("many-%d", i), payloads[i])
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if errs[i] != nil || c != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d, %v", i, c, errs[i])
		}
	}
	out := e.wait(n)
	for _, o := range out {
		if o != jobSuccess {
			t.Fatalf("outcomes %v", out)
		}
	}
	if got := e.counter("rbacguard_webhook_deliveries_total", "outcome", outcomeAccepted); got != n {
		t.Errorf("accepted = %v, want %d", got, n)
	}
	if got := e.counter("rbacguard_job_duration_seconds", "outcome", jobSuccess); got != n {
		t.Errorf("jobs = %v, want %d", got, n)
	}
	runs := e.fake.CheckRuns(owner, repoName)
	completed := 0
	for _, cr := range runs {
		if cr.Status == "completed" && cr.Conclusion == "success" {
			completed++
		}
	}
	if len(runs) != n || completed != n {
		t.Errorf("%d runs, %d completed, want %d", len(runs), completed, n)
	}
	if p := peak.Load(); p > 3 {
		t.Errorf("%d jobs at once, want at most 3 workers", p)
	}
	if q := maxQueued.Load(); q > 8 {
		t.Errorf("%d jobs queued, want at most 8", q)
	}
	if d := e.counter("rbacguard_queue_depth"); d != 0 {
		t.Errorf("queue depth %v after all jobs", d)
	}
}

// Shutdown lets running jobs finish before its deadline.
func TestShutdown_Finishes(t *testing.T) {
	b := newBlocker(headSHA)
	e := newEnv(t, func(c *Config) { c.Analyze = b.analyze(defaultAnalyze(c)) })
	e.seedPR(prNumber, headSHA)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("refused")
	}
	<-b.started
	errc := make(chan error, 1)
	go func() { errc <- e.srv.Shutdown(context.Background()) }()
	// Draining: not ready, and no new work.
	for !e.srv.draining.Load() {
		runtime.Gosched()
	}
	if resp, err := e.hooks.Client().Get(e.hooks.URL + "/readyz"); err != nil || resp.StatusCode != 503 {
		t.Errorf("readyz while draining: %v %v", resp.StatusCode, err)
	}
	code, body := e.deliver("pull_request", "d-2", prPayload(t, "opened", 13, "2222222222222222222222222222222222222222"), nil)
	if code != 503 || !strings.Contains(body, outcomeShuttingDown) {
		t.Errorf("delivery while draining: %d %s", code, body)
	}
	close(b.release)
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := e.wait(1); got[0] != jobFailure {
		t.Errorf("outcome %v", got)
	}
	if runs := e.fake.CheckRuns(owner, repoName); runs[0].Conclusion != "failure" {
		t.Errorf("run %+v", runs[0])
	}
}

// At the deadline, running jobs are interrupted and queued ones left: no
// run is concluded unanalysed; both stay queued, released for the sweep.
func TestShutdown_Interrupts(t *testing.T) {
	const head2 = "2222222222222222222222222222222222222222"
	b := newBlocker(headSHA)
	e := newEnv(t, func(c *Config) {
		c.Workers = 1
		c.Analyze = b.analyze(defaultAnalyze(c))
	})
	e.seedPR(prNumber, headSHA)
	e.seedPR(13, head2)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("refused")
	}
	<-b.started
	if code, _ := e.deliver("pull_request", "d-2", prPayload(t, "opened", 13, head2), nil); code != 202 {
		t.Fatal("refused")
	}
	for _, j := range e.srv.q.holding() {
		<-j.announced // the queued runs exist
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the deadline has passed already
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if diff := cmp.Diff([]string{jobInterrupted, jobInterrupted}, e.wait(2)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	runs := e.fake.CheckRuns(owner, repoName)
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	for _, cr := range runs {
		if cr.Status != "queued" || cr.ExternalID != map[string]string{headSHA: "12", head2: "13"}[cr.HeadSHA] || !strings.Contains(cr.Title, "restarted") {
			t.Errorf("run on %s: %s/%s %q", sha7(cr.HeadSHA), cr.Status, cr.Conclusion, cr.Summary)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		path string
		want string
	}{
		{"/healthz", `"ok"`},
		{"/readyz", `"ready"`},
		{"/metrics", "rbacguard_queue_depth 0"},
	} {
		resp, err := e.hooks.Client().Get(e.hooks.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s: %d, want %q in\n%.400s", tc.path, resp.StatusCode, tc.want, b)
		}
	}
	e.deliver("ping", "p-1", fixture(t, "ping.json", nil), nil)
	resp, err := e.hooks.Client().Get(e.hooks.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`rbacguard_webhook_deliveries_total{event="ping",outcome="ping"} 1`,
		"rbacguard_jobs_in_flight 0",
		"go_goroutines",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if resp, _ := e.hooks.Client().Get(e.hooks.URL + "/webhook"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook: %d", resp.StatusCode)
	}
}

// The sweep takes over the runs nobody holds (lease expired or released,
// or no lease and stale) and the open pull requests whose head has no run,
// and leaves alone runs a live replica holds, completed runs and fresh
// runs of an older version. Before, only in-progress runs older than
// StaleAfter were touched, and only by completing them neutral.
func TestSweep(t *testing.T) {
	now := time.Now()
	e := newEnv(t, nil)
	type pr struct {
		n      int
		head   string
		lease  string // external_id; "-" = no run
		status string
		old    bool
		taken  bool
	}
	live := fmt.Sprint(now.Add(time.Hour).Unix())
	gone := fmt.Sprint(now.Add(-time.Minute).Unix())
	prs := []pr{
		{1, "1000000000000000000000000000000000000001", "1;replica-b;" + live, "queued", false, false},
		{2, "2000000000000000000000000000000000000002", "2;replica-b;" + gone, "in_progress", false, true},
		{3, "3000000000000000000000000000000000000003", "-", "", false, true},
		{4, "4000000000000000000000000000000000000004", "4", "completed", false, false},
		{5, "5000000000000000000000000000000000000005", "5", "in_progress", false, false},
		{6, "6000000000000000000000000000000000000006", "6", "in_progress", true, true},
		{7, "7000000000000000000000000000000000000007", "7", "queued", false, true},                        // released by a shutdown
		{8, "8000000000000000000000000000000000000008", "8;replica-a;" + live, "in_progress", false, true}, // ours, from before a restart
	}
	gh := e.srv.cl.installation(instID)
	pub := &bot.Publisher{Client: gh, AppID: appID}
	var open []stubPull
	for _, p := range prs {
		e.seedPR(p.n, p.head)
		open = append(open, stubPull{Number: p.n, HeadSHA: p.head})
		if p.lease == "-" {
			continue
		}
		if p.old {
			e.fake.SetNow(func() time.Time { return now.Add(-2 * time.Hour) })
		}
		tg := bot.Target{Owner: owner, Repo: repoName, HeadSHA: p.head, PR: p.n, CheckName: checkName, ExternalID: p.lease}
		st := p.status
		if st == "completed" {
			st = "in_progress" // then failed below
		}
		id, _, err := pub.Ensure(context.Background(), tg, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.status == "completed" {
			if err := pub.Fail(context.Background(), tg, id, errors.New("earlier")); err != nil {
				t.Fatal(err)
			}
		}
		e.fake.SetNow(time.Now)
	}
	e.stub.open[owner+"/"+repoName] = open

	n, err := e.srv.Sweep(context.Background())
	want := 0
	for _, p := range prs {
		if p.taken {
			want++
		}
	}
	if err != nil || n != want {
		t.Fatalf("Sweep = %d, %v; want %d", n, err, want)
	}
	for _, o := range e.wait(want) {
		if o != jobFailure {
			t.Errorf("outcome %s, want the verdict (failure)", o)
		}
	}
	latest := map[string]githubtest.CheckRun{}
	for _, cr := range e.fake.CheckRuns(owner, repoName) {
		latest[cr.HeadSHA] = cr // oldest first: the last one wins
	}
	for _, p := range prs {
		cr := latest[p.head]
		checked := cr.Status == "completed" && cr.Conclusion == "failure" && strings.Contains(cr.Title, "merge blocked")
		if checked != p.taken {
			t.Errorf("PR %d (%s): run %s/%s %q, taken = %v", p.n, p.lease, cr.Status, cr.Conclusion, cr.Title, p.taken)
		}
	}
	if got := e.counter("rbacguard_reconciled_check_runs_total"); got != float64(want) {
		t.Errorf("swept metric = %v", got)
	}
	// Once done, a second sweep finds nothing to do.
	if n, err := e.srv.Sweep(context.Background()); err != nil || n != 0 {
		t.Errorf("second Sweep = %d, %v; want 0", n, err)
	}
}

// Two replicas sweeping the same installation at once, with a third gone
// (its leases expired): every pull request is checked once — one run per
// head showing the verdict, one review comment — whoever takes it.
func TestSweep_TwoReplicas(t *testing.T) {
	const n = 12
	e := newEnv(t, nil)
	e2 := e.replica(t, "replica-b")
	gone := fmt.Sprint(time.Now().Add(-time.Minute).Unix())
	gh := e.srv.cl.installation(instID)
	pub := &bot.Publisher{Client: gh, AppID: appID}
	var open []stubPull
	for i := range n {
		head := fmt.Sprintf("%040x", 0xfeed000+i)
		e.seedPR(100+i, head)
		open = append(open, stubPull{Number: 100 + i, HeadSHA: head})
		if i%2 == 0 { // half have a run of the dead replica, half none
			tg := bot.Target{Owner: owner, Repo: repoName, HeadSHA: head, PR: 100 + i, CheckName: checkName, ExternalID: fmt.Sprintf("%d;replica-z;%s", 100+i, gone)}
			if _, _, err := pub.Ensure(context.Background(), tg, "in_progress", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.stub.open[owner+"/"+repoName] = open
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, srv := range []*Server{e.srv, e2.srv} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := srv.Sweep(context.Background())
			if err != nil {
				t.Errorf("Sweep: %v", err)
			}
			counts[i] = c
		}()
	}
	wg.Wait()
	verdicts := 0
	for _, o := range append(e.wait(counts[0]), e2.wait(counts[1])...) {
		switch o {
		case jobFailure:
			verdicts++
		case jobHandedOver:
		default:
			t.Errorf("outcome %s", o)
		}
	}
	latest := map[string]githubtest.CheckRun{}
	runs := map[string]int{}
	for _, cr := range e.fake.CheckRuns(owner, repoName) {
		latest[cr.HeadSHA] = cr
		runs[cr.HeadSHA]++
	}
	// Two replicas may create a run for one head at the same moment: then
	// both finish theirs (GitHub shows the newest, which is concluded), and
	// only then may a head get two verdicts.
	extra := 0
	for _, k := range runs {
		extra += k - 1
	}
	if verdicts < n || verdicts > n+extra {
		t.Errorf("%d verdicts published for %d pull requests with %d duplicate runs (swept %v)", verdicts, n, extra, counts)
	}
	for _, p := range open {
		if cr := latest[p.HeadSHA]; cr.Status != "completed" || cr.Conclusion != "failure" {
			t.Errorf("PR %d: newest run %s/%s", p.Number, cr.Status, cr.Conclusion)
		}
		if c := e.fake.ReviewComments(owner, repoName, p.Number); len(c) != 1 {
			t.Errorf("PR %d: %d review comments, want 1", p.Number, len(c))
		}
	}
}

// A push delivered after a newer one (GitHub does not order deliveries)
// is stale: it neither runs nor cancels the newer head.
func TestSupersede_OutOfOrder(t *testing.T) {
	const olderHead = "0123012301230123012301230123012301230123"
	b := newBlocker(headSHA)
	e := newEnv(t, func(c *Config) { c.Analyze = b.analyze(defaultAnalyze(c)) })
	e.seedPR(prNumber, headSHA)
	newer := fixture(t, "pull_request_opened.json", func(m map[string]any) {
		m["action"] = "synchronize"
		m["pull_request"].(map[string]any)["updated_at"] = "2026-11-25T10:00:00Z"
	})
	older := fixture(t, "pull_request_opened.json", func(m map[string]any) {
		m["action"] = "synchronize"
		pr := m["pull_request"].(map[string]any)
		pr["updated_at"] = "2026-11-25T09:00:00Z"
		pr["head"].(map[string]any)["sha"] = olderHead
	})
	if code, _ := e.deliver("pull_request", "d-new", newer, nil); code != 202 {
		t.Fatal("newer refused")
	}
	<-b.started
	code, body := e.deliver("pull_request", "d-old", older, nil)
	if code != 202 || !strings.Contains(body, outcomeStale) {
		t.Fatalf("older push: %d %s, want 202 stale", code, body)
	}
	close(b.release)
	if got := e.wait(1); got[0] != jobFailure {
		t.Errorf("newer head's job: %v", got)
	}
	if runs := e.fake.CheckRuns(owner, repoName); len(runs) != 1 || runs[0].HeadSHA != headSHA {
		t.Errorf("runs = %+v", runs)
	}
}

// A re-run of an older head's check runs beside the newest head's job
// instead of cancelling it.
func TestSupersede_RerunDoesNotCancel(t *testing.T) {
	const oldHead = "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd"
	b := newBlocker(headSHA)
	e := newEnv(t, func(c *Config) { c.Analyze = b.analyze(defaultAnalyze(c)) })
	e.seedPR(prNumber, headSHA)
	_, head := repoTrees(t)
	e.fake.SetTarball(owner, repoName, oldHead, head)
	if code, _ := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != 202 {
		t.Fatal("push refused")
	}
	<-b.started
	rerun := fixture(t, "check_run_rerequested.json", func(m map[string]any) {
		m["check_run"].(map[string]any)["head_sha"] = oldHead
	})
	if code, body := e.deliver("check_run", "d-2", rerun, nil); code != 202 || !strings.Contains(body, "accepted") {
		t.Fatalf("re-run: %d %s", code, body)
	}
	if got := e.wait(1); got[0] != jobFailure {
		t.Errorf("re-run of the old head: %v", got)
	}
	close(b.release)
	if got := e.wait(1); got[0] != jobFailure {
		t.Errorf("newest head's job was not left alone: %v", got)
	}
}
