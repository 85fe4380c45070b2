// Package diff runs the pipeline for one pull request or one scan: it finds
// the overlays of the base and head trees, renders each, builds their RBAC
// graphs and token settings, compares them and returns the report of
// DESIGN.md. It composes the stages below it (source, render, rbac, escalation,
// token, policy) and does no I/O of its own beyond reading the trees it is given.
package diff
