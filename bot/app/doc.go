// Package app is the GitHub App driver of the publish stage
// (source → … → report → publish): `rbacguard serve`. It receives webhooks,
// verifies them, queues one job per pull-request head on a bounded worker
// pool, reads the base and head trees from repository tarballs, runs the
// diff pipeline and publishes through package bot (one check run per head
// SHA and check name, review comments deduplicated by marker).
//
// One file per concern:
//   - config.go: Config, its defaults and validation.
//   - auth.go: the App JWT (golang-jwt/jwt/v5) and installation clients
//     (ghinstallation), one cached transport per installation.
//   - server.go: the HTTP server: /webhook, /healthz, /readyz, /metrics;
//     start and graceful shutdown.
//   - webhook.go: signature check, event parsing, events → jobs.
//   - queue.go: the bounded queue, deduplication (delivery id, pull request
//     head) and supersession of older heads.
//   - job.go: one job: trees, patches, diff, publish; never leaves a check
//     run in progress.
//   - fetch.go: repository tarballs, without sending credentials to the
//     download host.
//   - reconcile.go: at start, completes our check runs left in progress.
//   - metrics.go: Prometheus metrics on a private registry.
//   - buildinfo.go: rbacguard_build_info, the release a replica runs.
//
// The server keeps no state that matters across restarts: GitHub is the
// source of truth, so replicas can run side by side behind a load balancer.
package app
