// Package helm renders a Helm chart as `helm template` renders it, and as
// kustomize's helmCharts field asks for it, in process with Helm's own
// chart loader and template engine: no helm program, no hooks run, no
// post-renderer, no plugins, no DNS; `lookup` returns nothing and a
// chart's values schema is not validated (its $refs would be fetched).
//
// A chart's templates are untrusted input, and Go's text/template cannot
// be interrupted: a template that loops, or values that expand, would hold
// the caller's goroutine and memory for as long as they like. So each
// render runs in a child process of the running binary (sandbox.go), with
// a deadline, a memory bound and an output bound, and a render that
// overruns any of them kills the child, never the caller. The binary
// becomes that child when it starts with RBACGUARD_HELM_CHILD set: any
// program that links this package, test binaries included, can render.
package helm
