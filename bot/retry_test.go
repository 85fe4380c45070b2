package bot

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"
)

// scripted answers each request with the next status (and headers) of
// its script and records the bodies it received.
type scripted struct {
	mu      sync.Mutex
	answers []answer
	bodies  []string
}

type answer struct {
	status  int
	headers map[string]string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	a := answer{status: 200}
	if len(s.answers) > 0 {
		a, s.answers = s.answers[0], s.answers[1:]
	}
	s.mu.Unlock()
	for k, v := range a.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	if a.status == 200 {
		io.WriteString(w, `{"id": 1}`)
		return
	}
	io.WriteString(w, `{"message": "nope", "documentation_url": "https://docs.github.com"}`)
}

type sleepLog struct{ waits []time.Duration }

func (l *sleepLog) sleep(_ context.Context, d time.Duration) error {
	l.waits = append(l.waits, d)
	return nil
}

func TestRetryTransport(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		method     string
		answers    []answer
		wantStatus int
		wantCalls  int
		wantWaits  []time.Duration
	}{
		{
			name: "502 then 200", method: "GET",
			answers:    []answer{{status: 502}},
			wantStatus: 200, wantCalls: 2, wantWaits: []time.Duration{time.Second},
		},
		{
			name: "PATCH retried on 503 with its body", method: "PATCH",
			answers:    []answer{{status: 503}, {status: 504}},
			wantStatus: 200, wantCalls: 3, wantWaits: []time.Duration{time.Second, 2 * time.Second},
		},
		{
			// A 502 may come after GitHub created the run or the review:
			// the caller looks for it before posting again.
			name: "POST is not retried on 502: it may have been applied", method: "POST",
			answers:    []answer{{status: 502}},
			wantStatus: 502, wantCalls: 1,
		},
		{
			name: "403 with Retry-After is honoured", method: "POST",
			answers:    []answer{{status: 403, headers: map[string]string{"Retry-After": "7"}}},
			wantStatus: 200, wantCalls: 2, wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name: "429 with an HTTP date", method: "GET",
			answers:    []answer{{status: 429, headers: map[string]string{"Retry-After": now.Add(3 * time.Second).Format(http.TimeFormat)}}},
			wantStatus: 200, wantCalls: 2, wantWaits: []time.Duration{3 * time.Second},
		},
		{
			name: "primary limit waits for the reset", method: "GET",
			answers: []answer{{status: 403, headers: map[string]string{
				"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(now.Add(20*time.Second).Unix(), 10)}}},
			wantStatus: 200, wantCalls: 2, wantWaits: []time.Duration{21 * time.Second},
		},
		{
			name: "403 without rate-limit headers is a permission error", method: "POST",
			answers:    []answer{{status: 403}},
			wantStatus: 403, wantCalls: 1,
		},
		{
			name: "Retry-After beyond MaxWait is not waited for", method: "GET",
			answers:    []answer{{status: 403, headers: map[string]string{"Retry-After": "3600"}}},
			wantStatus: 403, wantCalls: 1,
		},
		{
			name: "bounded attempts", method: "GET",
			answers:    []answer{{status: 502}, {status: 502}, {status: 502}, {status: 502}, {status: 502}},
			wantStatus: 502, wantCalls: 4, wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name: "500 is retried for GET", method: "GET",
			answers:    []answer{{status: 500}},
			wantStatus: 200, wantCalls: 2, wantWaits: []time.Duration{time.Second},
		},
		{
			name: "500 is not retried for POST: it may have been applied", method: "POST",
			answers:    []answer{{status: 500}},
			wantStatus: 500, wantCalls: 1,
		},
		{
			name: "422 is final", method: "POST",
			answers:    []answer{{status: 422}},
			wantStatus: 422, wantCalls: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &scripted{answers: tc.answers}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			var sl sleepLog
			rt := NewRetryTransport(ts.Client().Transport, RetryOptions{Sleep: sl.sleep, Now: func() time.Time { return now }})
			var body io.Reader
			if tc.method == "POST" {
				body = strings.NewReader(`{"name":"rbacguard"}`)
			}
			req, _ := http.NewRequest(tc.method, ts.URL+"/x", body)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if len(srv.bodies) != tc.wantCalls {
				t.Errorf("%d calls, want %d", len(srv.bodies), tc.wantCalls)
			}
			for i, b := range srv.bodies {
				if tc.method == "POST" && b != `{"name":"rbacguard"}` {
					t.Errorf("call %d body %q: not replayed", i, b)
				}
			}
			if d := cmp.Diff(tc.wantWaits, sl.waits); d != "" {
				t.Errorf("waits (-want +got):\n%s", d)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

type flaky struct {
	fails int
	calls int
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls++
	if f.calls <= f.fails {
		return nil, timeoutErr{}
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}, Request: r}, nil
}

func TestRetryTransport_Timeouts(t *testing.T) {
	var sl sleepLog
	f := &flaky{fails: 2}
	rt := NewRetryTransport(f, RetryOptions{Sleep: sl.sleep})
	req, _ := http.NewRequest("GET", "http://example.invalid/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 || f.calls != 3 {
		t.Fatalf("resp %v err %v calls %d, want 200 after 3 calls", resp, err, f.calls)
	}

	f = &flaky{fails: 1}
	req, _ = http.NewRequest("POST", "http://example.invalid/", strings.NewReader("x"))
	if _, err := NewRetryTransport(f, RetryOptions{Sleep: sl.sleep}).RoundTrip(req); err == nil || f.calls != 1 {
		t.Errorf("POST timeout: err %v after %d calls, want the error at once", err, f.calls)
	}
}

func TestRetryTransport_ContextEndsWait(t *testing.T) {
	srv := &scripted{answers: []answer{{status: 502}}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	rt := NewRetryTransport(ts.Client().Transport, RetryOptions{Sleep: func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}})
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL, nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// Through go-github: a secondary rate limit is absorbed below the client,
// which therefore never starts refusing requests on its own.
func TestRetryTransport_UnderGoGitHub(t *testing.T) {
	srv := &scripted{answers: []answer{{status: 403, headers: map[string]string{"Retry-After": "1"}}}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	var sl sleepLog
	c := github.NewClient(&http.Client{Transport: NewRetryTransport(ts.Client().Transport, RetryOptions{Sleep: sl.sleep})})
	c.BaseURL, _ = c.BaseURL.Parse(ts.URL + "/")
	for i := range 2 {
		if _, _, err := c.Checks.GetCheckRun(context.Background(), "o", "r", 1); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if d := cmp.Diff([]time.Duration{time.Second}, sl.waits); d != "" {
		t.Errorf("waits (-want +got):\n%s", d)
	}
}
