package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rbacguard/rbacguard/bot"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// Config is everything the App server needs. Build it from DefaultConfig
// and set AppID, PrivateKey and WebhookSecret.
type Config struct {
	// AppID is the GitHub App's id (its JWT issuer).
	AppID int64
	// PrivateKey is the App's PEM-encoded RSA key. Never logged.
	PrivateKey []byte
	// WebhookSecret verifies X-Hub-Signature-256. Required: go-github
	// accepts unsigned bodies when it is empty.
	WebhookSecret []byte
	// BaseURL is the REST API root, ending in "/":
	// https://api.github.com/ or https://HOST/api/v3/ (GitHub Enterprise).
	BaseURL string
	// Listen is the address of the HTTP server.
	Listen string
	// Workers run jobs concurrently; QueueSize jobs wait at most. A queued
	// job is a few hundred bytes (the payload is not kept), so memory is
	// bounded by QueueSize plus Workers trees.
	Workers, QueueSize int
	// EnqueueWait is how long a delivery may wait for room in a full queue
	// before it is answered 503. Keep it well under GitHub's 10 s.
	EnqueueWait time.Duration
	// MaxBodyBytes bounds a webhook body (GitHub caps payloads at 25 MB;
	// the events rbacguard reads are far smaller).
	MaxBodyBytes int64
	// CheckName is the check run's name: stable and unique, so that
	// branch protection can require it.
	CheckName string
	// CommentMode is bot.CommentReview, CommentAnnotations or CommentOff.
	CommentMode string
	// DetailsURL, when set, is the check run's "details" link.
	DetailsURL string
	// BotLogin is the App's bot account ("<slug>[bot]"); only its comments
	// are updated or resolved. Empty: any bot comment with our marker.
	BotLogin string
	// JobTimeout bounds one job; ShutdownTimeout bounds the wait for
	// in-flight jobs at shutdown; HandBackTimeout bounds completing the
	// interrupted ones afterwards.
	JobTimeout, ShutdownTimeout, HandBackTimeout time.Duration
	// StaleAfter: the sweep takes over our runs that carry no lease (left
	// by an older version) once they have been queued or in progress for
	// longer. Must exceed JobTimeout.
	StaleAfter time.Duration
	// ReconcileMaxRepos bounds the repositories one sweep visits.
	ReconcileMaxRepos int
	// RetryFor bounds how long a job failing on GitHub errors (5xx, rate
	// limits, a tarball not ready) is re-queued, from its first attempt;
	// RetryBase is the first wait, doubled each time up to RetryMax and
	// jittered. Only then is the run concluded failure.
	RetryFor, RetryBase, RetryMax time.Duration
	// SweepEvery is the mean period of the sweep (jittered by ±25%): it
	// re-enqueues our queued and in-progress runs nobody holds and the
	// open pull requests whose head has no run. 0 sweeps only at start.
	SweepEvery time.Duration
	// ReplicaID names this replica in check-run leases (default: the host
	// name, which is the pod name in Kubernetes). LeaseFor is how long a
	// lease lasts unless renewed; a replica that died is taken over after
	// it.
	ReplicaID string
	LeaseFor  time.Duration
	// DrainDelay is how long /readyz answers 503 after SIGTERM before the
	// listener closes, so that load balancers stop sending first.
	DrainDelay time.Duration
	// MaxConcurrentReads bounds webhook bodies read at once (each up to
	// MaxBodyBytes), so unauthenticated traffic cannot spend memory;
	// more wait up to 5 s, then get 503.
	MaxConcurrentReads int
	// MetricsListen, when set, serves /metrics on its own address and not
	// on Listen.
	MetricsListen string
	// Limits bound each tree read from a tarball.
	Limits source.Limits
	// RenderCacheBytes bounds the cache of rendered overlays the replica
	// shares between jobs (rendercache.go); 0 turns it off.
	RenderCacheBytes int64
	// Diff tunes the pipeline; the policy file is read from the base tree.
	Diff diff.Options
	// Version is reported in check runs.
	Version string

	// Analyze runs the pipeline; nil = diff.Run with Diff. Tests replace it.
	Analyze func(ctx context.Context, base, head source.Tree) (*report.Report, error)
	// Transport is the base HTTP transport to GitHub; nil =
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Retry tunes retries of 5xx, timeouts and rate limits.
	Retry bot.RetryOptions
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// DefaultConfig returns safe defaults for everything but the App's
// identity and secrets.
func DefaultConfig() Config {
	return Config{
		BaseURL:            "https://api.github.com/",
		Listen:             ":8080",
		Workers:            4,
		QueueSize:          256,
		EnqueueWait:        500 * time.Millisecond,
		MaxBodyBytes:       5 << 20,
		CheckName:          "rbacguard",
		CommentMode:        bot.CommentReview,
		JobTimeout:         10 * time.Minute,
		ShutdownTimeout:    20 * time.Second,
		HandBackTimeout:    8 * time.Second,
		StaleAfter:         30 * time.Minute,
		ReconcileMaxRepos:  500,
		RetryFor:           30 * time.Minute,
		RetryBase:          15 * time.Second,
		RetryMax:           5 * time.Minute,
		SweepEvery:         5 * time.Minute,
		ReplicaID:          defaultReplicaID(),
		LeaseFor:           5 * time.Minute,
		DrainDelay:         5 * time.Second,
		MaxConcurrentReads: 4,
		Limits:             source.Limits{MaxFileBytes: 4 << 20, MaxTotalBytes: 256 << 20, MaxFiles: 100_000},
		Diff:               diff.DefaultOptions(),
		RenderCacheBytes:   128 << 20,
	}
}

// Validate says what is missing or wrong, all at once.
func (c Config) Validate() error {
	var errs []error
	if c.AppID <= 0 {
		errs = append(errs, errors.New("app id is required (--app-id or RBACGUARD_APP_ID)"))
	}
	if len(c.PrivateKey) == 0 {
		errs = append(errs, errors.New("private key is required (--private-key FILE or RBACGUARD_PRIVATE_KEY)"))
	} else if _, err := ParsePrivateKey(c.PrivateKey); err != nil {
		errs = append(errs, err)
	}
	if len(c.WebhookSecret) == 0 {
		errs = append(errs, errors.New("webhook secret is required (--webhook-secret-file or RBACGUARD_WEBHOOK_SECRET): unsigned deliveries are never accepted"))
	}
	if _, err := apiURL(c.BaseURL); err != nil {
		errs = append(errs, err)
	}
	if c.Workers < 1 || c.Workers > 256 {
		errs = append(errs, fmt.Errorf("workers must be between 1 and 256, not %d", c.Workers))
	}
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("queue size must be at least 1, not %d", c.QueueSize))
	}
	if c.MaxBodyBytes < 1<<10 {
		errs = append(errs, fmt.Errorf("max body bytes must be at least 1024, not %d", c.MaxBodyBytes))
	}
	if strings.TrimSpace(c.CheckName) == "" {
		errs = append(errs, errors.New("check name must not be empty"))
	}
	if _, err := bot.ParseCommentMode(c.CommentMode); err != nil {
		errs = append(errs, err)
	}
	if c.RetryFor < 0 || c.RetryBase <= 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, fmt.Errorf("retry: want retry-for ≥ 0 and 0 < base (%s) ≤ max (%s)", c.RetryBase, c.RetryMax))
	}
	if c.LeaseFor <= 0 || c.SweepEvery < 0 || c.DrainDelay < 0 {
		errs = append(errs, errors.New("lease must be positive, sweep period and drain delay not negative"))
	}
	if c.MaxConcurrentReads < 1 {
		errs = append(errs, fmt.Errorf("max concurrent reads must be at least 1, not %d", c.MaxConcurrentReads))
	}
	if c.RenderCacheBytes < 0 {
		errs = append(errs, fmt.Errorf("render cache bytes must not be negative (0 turns the cache off), not %d", c.RenderCacheBytes))
	}
	if c.JobTimeout <= 0 || c.StaleAfter <= c.JobTimeout {
		errs = append(errs, fmt.Errorf("stale-after (%s) must exceed the job timeout (%s), or live runs would be reconciled", c.StaleAfter, c.JobTimeout))
	}
	return errors.Join(errs...)
}

// apiURL parses the API root and makes sure it ends in "/", as go-github
// requires.
func apiURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("github url %q: want an absolute http(s) URL such as https://api.github.com/ or https://HOST/api/v3/", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func defaultReplicaID() string {
	h, err := os.Hostname()
	if err != nil {
		return "rbacguard"
	}
	return replicaID(h)
}
