// Package diff runs the pipeline for one pull request or one scan: it finds
// the overlays of the base and head trees, renders each, builds their RBAC
// graphs and token settings, compares them and returns the report (package
// report holds its JSON contract). It composes the stages below it (source,
// render, rbac, escalation, token, policy) and does no I/O of its own
// beyond reading the trees it is given.
//
// A run that checks nothing — no overlay at either side, overlays without
// one object, a cluster export without RBAC — is a *NothingError, never an
// empty pass (nothing.go).
//
// For the query commands it renders trees the same way and hands the
// overlays to package query (ask.go): Overlays and OverlayPairs for
// who-can and can-i, Drift for a cluster's export against the repository,
// with the policy applied as for a diff.
package diff
