package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

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
	if cfg.Analyze == nil {
		o := cfg.Diff
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
	// Retries sit below authentication (a token refresh is retried too)
	// and above the counter (each attempt is an API call).
	tr := bot.NewRetryTransport(countingTransport{next: base, m: m}, cfg.Retry)
	cl, err := newClients(cfg, tr)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: log, m: m, q: newQueue(cfg.QueueSize, m), cl: cl}, nil
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
}

// Shutdown stops taking deliveries and lets queued and running jobs finish
// until ctx ends. Then it cancels what is left: running jobs complete their
// check runs neutral ("interrupted, will be retried on the next push or
// re-run") and jobs that never started are handed back the same way, all
// within HandBackTimeout. It returns once every worker has stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.q.close()
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
	s.log.Warn("shutdown deadline reached; interrupting jobs")
	s.q.interruptAll()
	select {
	case <-done:
		return nil
	case <-hb.Done():
		return errors.New("shutdown: jobs still running after the hand-back window")
	}
}

// Run serves on cfg.Listen until ctx ends, then shuts down gracefully
// within ShutdownTimeout (plus HandBackTimeout). At start it reconciles
// check runs a previous process left in progress, in the background.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.Start()
	recCtx, stopRec := context.WithCancel(ctx)
	recDone := make(chan struct{})
	defer func() {
		stopRec()
		<-recDone // nothing of this server outlives Serve
	}()
	go func() {
		defer close(recDone)
		n, err := s.Reconcile(recCtx)
		if err != nil && recCtx.Err() == nil {
			s.log.Warn("reconciliation incomplete", "completed", n, "err", err)
			return
		}
		s.log.Info("reconciliation done", "completed", n)
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "workers", s.cfg.Workers, "queue", s.cfg.QueueSize)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	err := s.Shutdown(sctx)
	s.log.Info("stopped")
	return err
}
