// Package conformance proves the rbacguard RBAC engine (package
// github.com/rbacguard/rbacguard/diff/rbac, the "model" and "compare"
// stages) against the Kubernetes API server's own RBAC authorizer.
//
// It is a nested module so that k8s.io/kubernetes, a heavy dependency that
// only the proof needs, stays out of the product's go.mod. It also generates
// the bootstrap policy the engine embeds (../bootstrap.yaml) from
// k8s.io/kubernetes' bootstrappolicy package.
package conformance

//go:generate go run ./cmd/genbootstrap -o ../bootstrap.yaml
