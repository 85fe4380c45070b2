package app

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live on a private registry: no global state, and a test server
// counts only its own work.
type metrics struct {
	reg         *prometheus.Registry
	deliveries  *prometheus.CounterVec
	queueDepth  prometheus.Gauge
	inFlight    prometheus.Gauge
	jobDuration *prometheus.HistogramVec
	apiCalls    *prometheus.CounterVec
	reconciled  prometheus.Counter
	readsWait   prometheus.Gauge
}

// Delivery outcomes, the "outcome" label of deliveries_total.
const (
	outcomeAccepted     = "accepted"
	outcomeDuplicate    = "duplicate"
	outcomeStale        = "stale" // older than the push in flight
	outcomeIgnored      = "ignored"
	outcomePing         = "ping"
	outcomeUnsigned     = "unsigned"
	outcomeBadSignature = "bad_signature"
	outcomeTooLarge     = "too_large"
	outcomeBadRequest   = "bad_request"
	outcomeQueueFull    = "queue_full"
	outcomeShuttingDown = "shutting_down"
	outcomeBusy         = "busy" // too many bodies being read
)

// Job outcomes, the "outcome" label of job_duration_seconds.
const (
	jobSuccess     = "success"     // published, the gate passed
	jobFailure     = "failure"     // published, the gate failed
	jobError       = "error"       // no verdict; run concluded failure or timed_out
	jobSuperseded  = "superseded"  // a newer head of the PR took over; run cancelled
	jobInterrupted = "interrupted" // shutdown; run left queued for the sweep
	jobSkipped     = "skipped"     // nothing to do (closed PR, not ours)
	jobRetrying    = "retrying"    // GitHub failed; re-queued with backoff
	jobHandedOver  = "handed_over" // another replica holds the run now
)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "rbacguard", Name: "webhook_deliveries_total",
			Help: "Webhook deliveries received, by event and outcome.",
		}, []string{"event", "outcome"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "rbacguard", Name: "queue_depth",
			Help: "Jobs waiting for a worker.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "rbacguard", Name: "jobs_in_flight",
			Help: "Jobs being processed.",
		}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "rbacguard", Name: "job_duration_seconds",
			Help:    "Time from a worker taking a job to its check run completing, by outcome.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"outcome"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "rbacguard", Name: "github_api_requests_total",
			Help: "HTTP requests to GitHub (each retry counts), by status code, or \"error\" without a response.",
		}, []string{"status"}),
		reconciled: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "rbacguard", Name: "reconciled_check_runs_total",
			Help: "Check runs and pull requests the sweep took over (lease expired or released, or no run).",
		}),
		readsWait: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "rbacguard", Name: "webhook_reads_in_flight",
			Help: "Webhook bodies being read (bounded by --max-concurrent-reads).",
		}),
	}
	m.reg.MustRegister(m.deliveries, m.queueDepth, m.inFlight, m.jobDuration, m.apiCalls, m.reconciled, m.readsWait,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// countingTransport counts GitHub API calls by status.
type countingTransport struct {
	next http.RoundTripper
	m    *metrics
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	t.m.apiCalls.WithLabelValues(status).Inc()
	return resp, err
}
