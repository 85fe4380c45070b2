package app

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoad delivers 50 pull requests at once while GitHub fails at random
// (5xx before and after the work is done, secondary rate limits, archives
// not ready): every pull request must end with one completed run with the
// verdict and one review comment. It logs the p95 time to acknowledge a
// delivery and the peak heap. Run it with `go test -run Load ./bot/app`.
func TestLoad(t *testing.T) {
	const n = 50
	var peakHeap atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		for p := peakHeap.Load(); ms.HeapInuse > p && !peakHeap.CompareAndSwap(p, ms.HeapInuse); p = peakHeap.Load() {
		}
	}
	e := newEnv(t, func(c *Config) { c.Workers, c.QueueSize = 4, 64 })
	if testing.Verbose() {
		e.srv.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	after := e.srv.afterJob
	e.srv.afterJob = func(j *job, o string) { sample(); after(j, o) }

	rng := rand.New(rand.NewPCG(13, 50))
	heads := make([]string, n)
	for i := range n {
		heads[i] = fmt.Sprintf("%040x", 0x10ad000+i)
		e.seedPR(200+i, heads[i])
	}
	type fault struct {
		method, path string
		status       int
		after        bool
	}
	faults := []fault{
		{"POST", "/repos/acme/platform/check-runs", http.StatusBadGateway, true},
		{"POST", "/repos/acme/platform/check-runs", http.StatusServiceUnavailable, false},
		{"POST", "/repos/acme/platform/pulls/*/reviews", http.StatusBadGateway, true},
		{"POST", "/repos/acme/platform/pulls/*/reviews", http.StatusGatewayTimeout, false},
		{"PATCH", "/repos/acme/platform/check-runs/*", http.StatusServiceUnavailable, false},
		{"PATCH", "/repos/acme/platform/check-runs/*", http.StatusForbidden, false},
		{"GET", "/repos/acme/platform/tarball/*", http.StatusNotFound, false},
		{"GET", "/repos/acme/platform/tarball/*", http.StatusInternalServerError, false},
		{"GET", "/repos/acme/platform/pulls/*/files", http.StatusBadGateway, false},
		{"GET", "/repos/acme/platform/commits/*/check-runs", http.StatusServiceUnavailable, false},
	}
	for range 40 {
		f := faults[rng.IntN(len(faults))]
		if f.after {
			e.fake.FailAfter(f.method, f.path, f.status, 1)
		} else {
			e.fake.FailNext(f.method, f.path, f.status, 1+rng.IntN(3))
		}
	}

	acks := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			code, err := e.post("pull_request", fmt.Sprintf("load-%d", i), prPayload(t, "opened", 200+i, heads[i]))
			acks[i] = time.Since(t0)
			if err != nil || code != http.StatusAccepted {
				t.Errorf("delivery %d: %d %v", i, code, err)
			}
			sample()
		}()
	}
	wg.Wait()
	outcomes := e.wait(n)
	elapsed := time.Since(start)
	for _, o := range outcomes {
		if o != jobFailure {
			t.Errorf("outcome %s, want the verdict (failure) for every pull request", o)
		}
	}
	latest := map[string][]string{}
	for _, cr := range e.fake.CheckRuns(owner, repoName) {
		latest[cr.HeadSHA] = append(latest[cr.HeadSHA], cr.Status+"/"+cr.Conclusion)
	}
	for i, h := range heads {
		runs := latest[h]
		if len(runs) != 1 || runs[0] != "completed/failure" {
			t.Errorf("PR %d: runs %v, want one completed/failure", 200+i, runs)
		}
		if c := e.fake.ReviewComments(owner, repoName, 200+i); len(c) != 1 {
			t.Errorf("PR %d: %d review comments, want 1", 200+i, len(c))
		}
	}
	slices.Sort(acks)
	t.Logf("%d pull requests in %s; ack p50 %s, p95 %s, max %s; peak heap in use %.1f MB; %d API requests; %v job attempts retried",
		n, elapsed.Round(time.Millisecond), acks[n/2].Round(time.Microsecond), acks[n*95/100].Round(time.Microsecond),
		acks[n-1].Round(time.Microsecond), float64(peakHeap.Load())/(1<<20), e.apiRequests(), e.counter("rbacguard_job_duration_seconds", "outcome", jobRetrying))
}
