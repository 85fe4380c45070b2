package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/bot"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// Server is the GitHub App: webhook receiver, worker pool and publisher.
// Create it with New; Run serves until its context ends. Tests use
// Handler, Start and Shutdown directly.
type Server struct {
	cfg Config
	log *slog.Logger
	m   *metrics
	q   *queue
	cl  *clients

	wg       sync.WaitGroup
	started  atomic.Bool
	draining atomic.Bool

	mu          sync.Mutex
	handBackCtx context.Context // set when shutdown interrupts jobs

	loginMu sync.Mutex
	login   string // the App's bot account, learned once

	announcing chan struct{} // bounds concurrent creations of queued runs
	reads      chan struct{} // bounds concurrent webhook body reads
	stop       chan struct{} // closed by Shutdown: ends renewal
	stopOnce   sync.Once

	// drainWait waits out the drain delay; tests replace it.
	drainWait func(time.Duration)

	// afterJob, when set (tests), is called after each job with its
	// outcome.
	afterJob func(j *job, outcome string)
}

// New checks cfg and builds a server. log nil discards.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	renders := newRenderCache(cfg)
	if cfg.Analyze == nil {
		o := cfg.Diff
		o.Render.ResultCache = renders
		cfg.Analyze = func(ctx context.Context, base, head source.Tree) (*report.Report, error) {
			return diff.Run(ctx, base, head, o)
		}
	}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	m := newMetrics()
	m.reg.MustRegister(newBuildInfo(cfg.Version))
	m.reg.MustRegister(renderCacheMetrics(renders)...)
	// Retries sit below authentication (a token refresh is retried too)
	// and above the counter (each attempt is an API call).
	tr := bot.NewRetryTransport(countingTransport{next: base, m: m}, cfg.Retry)
	cl, err := newClients(cfg, tr)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: log, m: m, q: newQueue(cfg.QueueSize, m), cl: cl,
		announcing: make(chan struct{}, 16), reads: make(chan struct{}, cfg.MaxConcurrentReads), stop: make(chan struct{})}, nil
}

// Handler serves POST /webhook, GET /healthz, GET /readyz and GET /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhook", s.webhook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, reply{Status: "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.started.Load() || s.draining.Load() {
			writeJSON(w, http.StatusServiceUnavailable, reply{Status: "not ready"})
			return
		}
		writeJSON(w, http.StatusOK, reply{Status: "ready"})
	})
	if s.cfg.MetricsListen == "" {
		mux.Handle("GET /metrics", s.m.handler())
	}
	return mux
}

// MetricsHandler serves GET /metrics, for Config.MetricsListen.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.m.handler())
	return mux
}

// Start starts the workers. It is idempotent.
func (s *Server) Start() {
	if s.started.Swap(true) {
		return
	}
	for range s.cfg.Workers {
		s.wg.Add(1)
		go s.worker()
	}
	go s.renew()
}

// renew extends the lease of every run this replica holds, every third of
// LeaseFor, until Shutdown: the sweep of other replicas leaves them alone
// while this one lives.
func (s *Server) renew() {
	t := time.NewTicker(max(s.cfg.LeaseFor/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.renewOnce()
	}
}

// renewOnce extends the leases of the runs held now.
func (s *Server) renewOnce() {
	for _, j := range s.q.holding() {
		select {
		case <-j.announced:
		default:
			continue
		}
		id, done := j.run()
		if id == 0 || done {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), failTimeout)
		_, _, err := s.cl.installation(j.installation).Checks.UpdateCheckRun(ctx, j.owner, j.repo, id, github.UpdateCheckRunOptions{
			Name: s.cfg.CheckName, ExternalID: github.String(s.myLease(j.pr).String()),
		})
		cancel()
		if err != nil {
			s.log.Warn("cannot renew the lease of a check run", "repo", j.owner+"/"+j.repo, "check_run", id, "err", err)
		}
	}
}

// Shutdown stops taking deliveries and lets queued and running jobs finish
// until ctx ends. Then it interrupts what is left: nothing is concluded
// unanalysed — every unfinished job's run is left queued with its lease
// released, for the sweep of another replica or of the next start, all
// within HandBackTimeout. Jobs parked for a retry are released at once.
// It returns once every worker has stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.stopOnce.Do(func() { close(s.stop) })
	s.q.close()
	for _, j := range s.q.unpark() {
		s.release(j, s.jobLog(j))
		s.q.finish(j, false)
		if s.afterJob != nil {
			s.afterJob(j, jobInterrupted)
		}
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	if !s.started.Load() {
		s.Start() // nothing queued can be left behind unread
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	hb, cancel := context.WithTimeout(context.Background(), s.cfg.HandBackTimeout)
	defer cancel()
	s.mu.Lock()
	s.handBackCtx = hb
	s.mu.Unlock()
	s.log.Warn("shutdown deadline reached; leaving the rest queued for the sweep")
	s.q.interruptAll()
	select {
	case <-done:
		return nil
	case <-hb.Done():
		return errors.New("shutdown: jobs still running after the hand-back window")
	}
}

// Run serves on cfg.Listen (and cfg.MetricsListen) until ctx ends, then
// shuts down gracefully: /readyz answers 503 for DrainDelay while the
// listener still serves, then the listener closes and jobs get
// ShutdownTimeout to finish (plus HandBackTimeout to leave the rest
// queued).
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	var mln net.Listener
	if s.cfg.MetricsListen != "" {
		if mln, err = net.Listen("tcp", s.cfg.MetricsListen); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s for metrics: %w", s.cfg.MetricsListen, err)
		}
	}
	return s.Serve(ctx, ln, mln)
}

// Serve is Run on listeners; metrics may be nil (metrics on ln).
func (s *Server) Serve(ctx context.Context, ln, metrics net.Listener) error {
	newHTTP := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
	}
	hs := newHTTP(s.Handler())
	s.Start()
	sweepCtx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	defer func() {
		stopSweep()
		<-sweepDone // nothing of this server outlives Serve
	}()
	go func() {
		defer close(sweepDone)
		s.sweepLoop(sweepCtx)
	}()
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	var ms *http.Server
	if metrics != nil {
		ms = newHTTP(s.MetricsHandler())
		go func() { errc <- ms.Serve(metrics) }()
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "workers", s.cfg.Workers, "queue", s.cfg.QueueSize, "replica", s.cfg.ReplicaID)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Not ready from now on, while the listener still answers: load
	// balancers (a Service's endpoints) stop sending before it closes.
	s.draining.Store(true)
	if s.drainWait != nil {
		s.drainWait(s.cfg.DrainDelay)
	} else if s.cfg.DrainDelay > 0 {
		t := time.NewTimer(s.cfg.DrainDelay)
		<-t.C
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	if ms != nil {
		ms.Shutdown(sctx)
	}
	err := s.Shutdown(sctx)
	s.log.Info("stopped")
	return err
}

// sweepLoop sweeps at start and then every SweepEvery, jittered by ±25%
// so that replicas started together do not sweep together.
func (s *Server) sweepLoop(ctx context.Context) {
	for {
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sweep incomplete", "enqueued", n, "err", err)
		} else if ctx.Err() == nil {
			s.log.Info("sweep done", "enqueued", n)
		}
		if s.cfg.SweepEvery <= 0 {
			return
		}
		d := s.cfg.SweepEvery*3/4 + time.Duration(rand.Int64N(int64(s.cfg.SweepEvery/2)+1))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
