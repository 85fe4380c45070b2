package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/bot/app"
	"github.com/rbacguard/rbacguard/diff/helm"
	"github.com/rbacguard/rbacguard/diff/report"
)

// serveFlags are `rbacguard serve`'s flags. Each has an environment
// variable, read only when the flag is not given; secrets are best passed
// as files (mounted Secrets) or environment variables, never as flags
// that `ps` shows.
type serveFlags struct {
	appID             int64
	privateKeyFile    string
	webhookSecret     string
	webhookSecretFile string
	listen            string
	workers           int
	queueSize         int
	githubURL         string
	checkName         string
	commentMode       string
	appSlug           string
	detailsURL        string
	failOn            report.Severity
	defaultNamespace  string
	remoteBases       []string
	logLevel          string
	jobTimeout        time.Duration
	shutdownTimeout   time.Duration
	staleAfter        time.Duration
	retryFor          time.Duration
	sweepEvery        time.Duration
	leaseFor          time.Duration
	drainDelay        time.Duration
	replicaID         string
	maxReads          int
	metricsListen     string
	renderCacheBytes  int64
}

// serveEnv maps flags to their environment variables.
func serveEnv() map[string]string {
	return map[string]string{
		"app-id":               "RBACGUARD_APP_ID",
		"private-key":          "RBACGUARD_PRIVATE_KEY_FILE",
		"webhook-secret":       "RBACGUARD_WEBHOOK_SECRET",
		"webhook-secret-file":  "RBACGUARD_WEBHOOK_SECRET_FILE",
		"listen":               "RBACGUARD_LISTEN",
		"workers":              "RBACGUARD_WORKERS",
		"queue-size":           "RBACGUARD_QUEUE_SIZE",
		"github-url":           "RBACGUARD_GITHUB_URL",
		"check-name":           "RBACGUARD_CHECK_NAME",
		"comment-mode":         "RBACGUARD_COMMENT_MODE",
		"app-slug":             "RBACGUARD_APP_SLUG",
		"details-url":          "RBACGUARD_DETAILS_URL",
		"fail-on":              "RBACGUARD_FAIL_ON",
		"default-namespace":    "RBACGUARD_DEFAULT_NAMESPACE",
		"log-level":            "RBACGUARD_LOG_LEVEL",
		"allow-remote-base":    "RBACGUARD_ALLOW_REMOTE_BASE",
		"job-timeout":          "RBACGUARD_JOB_TIMEOUT",
		"shutdown-timeout":     "RBACGUARD_SHUTDOWN_TIMEOUT",
		"stale-after":          "RBACGUARD_STALE_AFTER",
		"retry-for":            "RBACGUARD_RETRY_FOR",
		"sweep-every":          "RBACGUARD_SWEEP_EVERY",
		"lease":                "RBACGUARD_LEASE",
		"drain-delay":          "RBACGUARD_DRAIN_DELAY",
		"replica-id":           "RBACGUARD_REPLICA_ID",
		"max-concurrent-reads": "RBACGUARD_MAX_CONCURRENT_READS",
		"metrics-listen":       "RBACGUARD_METRICS_LISTEN",
		"render-cache-bytes":   "RBACGUARD_RENDER_CACHE_BYTES",
	}
}

// privateKeyEnv holds the PEM itself, for platforms that inject secrets
// as variables.
const privateKeyEnv = "RBACGUARD_PRIVATE_KEY"

func newServeCmd(e *env) *cobra.Command {
	var f serveFlags
	d := app.DefaultConfig()
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the GitHub App: receive webhooks and check pull requests",
		Long: `serve runs rbacguard as a GitHub App. It receives webhooks on POST /webhook
(verified with the webhook secret), checks each pull request's head against its
merge base from repository tarballs, and reports a check run and review comments.
GET /healthz, /readyz and /metrics (Prometheus; on its own address with
--metrics-listen) serve operations.

Every flag can also be set by environment variable (RBACGUARD_APP_ID,
RBACGUARD_WEBHOOK_SECRET, …; flags win). The private key is read from
--private-key FILE or from RBACGUARD_PRIVATE_KEY (the PEM itself) and is never
logged.

GitHub is the queue of record: each accepted delivery gets a queued check run
at once, leased to this replica (--replica-id, --lease); GitHub errors re-queue
the job with backoff for up to --retry-for before the run concludes failure;
every --sweep-every (jittered) the sweep takes over runs no live replica holds
and pull requests whose head has no run. A check never concludes neutral
without a verdict. SIGTERM makes /readyz answer 503 for --drain-delay, then
closes the listener, lets running checks finish for --shutdown-timeout and
leaves the rest queued for the sweep.`,
		Example: `  RBACGUARD_WEBHOOK_SECRET=… rbacguard serve --app-id 123456 --private-key /secrets/app.pem
  rbacguard serve --github-url https://ghe.example.com/api/v3/ --workers 8`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := f.fromEnv(c, e.getenv); err != nil {
				return err
			}
			cfg, log, err := f.config(e)
			if err != nil {
				return err
			}
			srv, err := app.New(cfg, log)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			return srv.Run(c.Context())
		},
	}
	fl := c.Flags()
	fl.Int64Var(&f.appID, "app-id", 0, "the GitHub App's id")
	fl.StringVar(&f.privateKeyFile, "private-key", "", "file holding the App's PEM private key (or set "+privateKeyEnv+" to the PEM)")
	fl.StringVar(&f.webhookSecret, "webhook-secret", "", "webhook secret (prefer RBACGUARD_WEBHOOK_SECRET or --webhook-secret-file: flags show in ps)")
	fl.StringVar(&f.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret")
	fl.StringVar(&f.listen, "listen", d.Listen, "address to serve on")
	fl.IntVar(&f.workers, "workers", d.Workers, "pull requests checked at once")
	fl.IntVar(&f.queueSize, "queue-size", d.QueueSize, "deliveries that may wait for a worker; more are answered 503")
	fl.StringVar(&f.githubURL, "github-url", d.BaseURL, "REST API root; https://HOST/api/v3/ for GitHub Enterprise Server")
	fl.StringVar(&f.checkName, "check-name", d.CheckName, "name of the check run (what branch protection requires)")
	fl.StringVar(&f.commentMode, "comment-mode", d.CommentMode, "review comments: review, annotations or off")
	fl.StringVar(&f.appSlug, "app-slug", "", "the App's slug, whose bot account writes the comments (default: asked of GitHub)")
	fl.StringVar(&f.detailsURL, "details-url", "", "link shown as the check run's details")
	f.failOn = d.Diff.FailOn
	fl.Var(&f.failOn, "fail-on", "fail the check on findings at or above this severity: critical, high, medium, low, info or none")
	fl.StringVar(&f.defaultNamespace, "default-namespace", d.Diff.DefaultNamespace, "namespace of objects that name none")
	fl.StringSliceVar(&f.remoteBases, "allow-remote-base", nil, "URL prefix of kustomize remote bases and resources rbacguard may fetch itself, over HTTPS at a pinned ref, never with git (repeatable; default none; see the policy's remote.allow)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.DurationVar(&f.jobTimeout, "job-timeout", d.JobTimeout, "longest one check may take")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "how long running checks may finish after SIGTERM")
	fl.DurationVar(&f.staleAfter, "stale-after", d.StaleAfter, "take over our check runs without a lease (older versions) in progress for longer than this")
	fl.DurationVar(&f.retryFor, "retry-for", d.RetryFor, "how long a check failing on GitHub errors is retried before it concludes failure")
	fl.DurationVar(&f.sweepEvery, "sweep-every", d.SweepEvery, "mean period of the sweep for lost and unheld checks (0: at start only)")
	fl.DurationVar(&f.leaseFor, "lease", d.LeaseFor, "how long a replica's lease on a check run lasts unless renewed")
	fl.DurationVar(&f.drainDelay, "drain-delay", d.DrainDelay, "after SIGTERM, how long /readyz answers 503 before the listener closes")
	fl.StringVar(&f.replicaID, "replica-id", d.ReplicaID, "this replica's name in check-run leases (default: the host name)")
	fl.IntVar(&f.maxReads, "max-concurrent-reads", d.MaxConcurrentReads, "webhook bodies read at once (each up to 5 MiB); bounds unauthenticated memory")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "serve /metrics on this address instead of --listen")
	fl.Int64Var(&f.renderCacheBytes, "render-cache-bytes", d.RenderCacheBytes, "memory for rendered overlays reused by later pull requests against the same base (0: off)")
	return c
}

// fromEnv sets every flag not given on the command line from its
// environment variable.
func (f *serveFlags) fromEnv(c *cobra.Command, getenv func(string) string) error {
	for name, key := range serveEnv() {
		v := getenv(key)
		if v == "" || c.Flags().Changed(name) {
			continue
		}
		if err := c.Flags().Set(name, v); err != nil {
			// Never echo the value: it may be a secret.
			return fmt.Errorf("serve: environment variable %s: invalid value for --%s", key, name)
		}
	}
	return nil
}

// config turns the flags into the App's configuration and logger.
func (f *serveFlags) config(e *env) (app.Config, *slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return app.Config{}, nil, fmt.Errorf("serve: --log-level %q: want debug, info, warn or error", f.logLevel)
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	cfg := app.DefaultConfig()
	cfg.AppID = f.appID
	switch {
	case f.privateKeyFile != "":
		b, err := os.ReadFile(f.privateKeyFile)
		if err != nil {
			return cfg, nil, fmt.Errorf("serve: read private key: %w", err)
		}
		cfg.PrivateKey = b
	case e.getenv(privateKeyEnv) != "":
		// Platforms often flatten newlines in variables.
		cfg.PrivateKey = []byte(strings.ReplaceAll(e.getenv(privateKeyEnv), `\n`, "\n"))
	}
	switch {
	case f.webhookSecretFile != "":
		b, err := os.ReadFile(f.webhookSecretFile)
		if err != nil {
			return cfg, nil, fmt.Errorf("serve: read webhook secret: %w", err)
		}
		cfg.WebhookSecret = []byte(strings.TrimRight(string(b), "\r\n"))
	default:
		cfg.WebhookSecret = []byte(f.webhookSecret)
	}
	cfg.BaseURL = f.githubURL
	cfg.Listen = f.listen
	cfg.Workers = f.workers
	cfg.QueueSize = f.queueSize
	cfg.CheckName = f.checkName
	cfg.CommentMode = f.commentMode
	cfg.DetailsURL = f.detailsURL
	if f.appSlug != "" {
		cfg.BotLogin = strings.TrimSuffix(f.appSlug, "[bot]") + "[bot]"
	}
	cfg.Diff.FailOn = f.failOn
	cfg.Diff.DefaultNamespace = f.defaultNamespace
	cfg.Diff.Render.RemoteBases = f.remoteBases
	// A replica's memory limit (deploy/: 1Gi) holds the server and one
	// chart render at a time; real charts render in well under 100 MiB.
	cfg.Diff.Render.Helm = helm.NewRenderer(helm.Limits{MaxMemoryBytes: 256 << 20, Concurrent: 1})
	cfg.JobTimeout = f.jobTimeout
	cfg.ShutdownTimeout = f.shutdownTimeout
	cfg.StaleAfter = f.staleAfter
	cfg.RetryFor = f.retryFor
	cfg.SweepEvery = f.sweepEvery
	cfg.LeaseFor = f.leaseFor
	cfg.DrainDelay = f.drainDelay
	cfg.ReplicaID = f.replicaID
	cfg.MaxConcurrentReads = f.maxReads
	cfg.MetricsListen = f.metricsListen
	cfg.RenderCacheBytes = f.renderCacheBytes
	cfg.Version = versionString()
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("serve: invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	log.Info("configuration", "app_id", cfg.AppID, "github_url", cfg.BaseURL, "listen", cfg.Listen,
		"workers", cfg.Workers, "queue_size", cfg.QueueSize, "check_name", cfg.CheckName, "version", cfg.Version,
		"private_key", "set", "webhook_secret", "set", "pid", strconv.Itoa(os.Getpid()))
	return cfg, log, nil
}
