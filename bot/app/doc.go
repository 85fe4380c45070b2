// Package app is the GitHub App driver of the publish stage
// (source → … → report → publish): `rbacguard serve`. It receives webhooks,
// verifies them, queues one job per pull-request head on a bounded worker
// pool, reads the base and head trees from repository tarballs, runs the
// diff pipeline and publishes through package bot (one check run per head
// SHA and check name, review comments deduplicated by marker).
//
// GitHub is the queue of record. An accepted delivery gets its check run at
// once, queued, leased to this replica in its external_id (lease.go); the
// in-memory queue only orders work. Jobs failing on GitHub errors are
// re-queued with backoff for up to RetryFor, the run showing "Retrying";
// a periodic, jittered sweep (sweep.go) takes over runs nobody holds and
// finds open pull requests whose head has no run; a shutdown leaves what
// it could not finish queued, released for the sweep. So a crash, a deploy
// or an outage delays a check but never passes it.
//
// Conclusions (see also package bot):
//
//	compared, a finding at or above fail-on     failure (the gate)
//	compared, none                              success
//	a tree over a size or count limit           failure: a high finding naming the largest files
//	GitHub failing beyond RetryFor, any error   failure, titled with the reason and what to do
//	JobTimeout ran out                          timed_out
//	superseded by a newer push                  cancelled
//	pull request closed before the check ran    neutral: nothing to check
//	shutdown before the check ran               none: stays queued for the sweep
//
// One file per concern:
//   - config.go: Config, its defaults and validation.
//   - auth.go: the App JWT (golang-jwt/jwt/v5) and installation clients
//     (ghinstallation), one cached transport per installation.
//   - server.go: the HTTP server: /webhook, /healthz, /readyz, /metrics
//     (optionally on its own listener); start, lease renewal, the sweep
//     loop, draining (readyz 503 before the listener closes) and shutdown.
//   - webhook.go: bounded body reads, signature check, name validation,
//     event parsing, events → jobs.
//   - queue.go: the bounded queue, deduplication (delivery id, pull request
//     head), supersession of older heads, jobs parked for a retry.
//   - job.go: one attempt of a job: the queued run, trees, patches, diff,
//     publish; retry, conclusion or release when it cannot publish.
//   - lease.go: leases on check runs and how replicas share the queue.
//   - sweep.go: the sweep.
//   - fetch.go: repository tarballs, without sending credentials to the
//     download host.
//   - metrics.go: Prometheus metrics on a private registry.
//   - buildinfo.go: rbacguard_build_info, the release a replica runs.
//   - rendercache.go: the replica's cache of rendered overlays, shared by
//     its jobs, and its rbacguard_render_cache_* metrics.
//
// The server keeps no state that matters across restarts, so replicas run
// side by side behind a load balancer.
package app
