// Package rbac is the compare stage for access control: it builds the RBAC
// graph of one rendered overlay (roles, bindings, aggregation and the
// built-in bootstrap policy), answers what each subject may do (and, for
// the query commands, who can make a request, whether one user may, and
// everything a user may: query.go), and diffs two graphs into atomic
// privilege changes. WithoutBootstrap (cluster.go) leaves a live cluster's
// copies of the bootstrap policy to the built-ins.
//
// The engine mirrors the API server: request matching copies
// k8s.io/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go, subject matching
// copies appliesToUser from pkg/registry/rbac/validation, and "is this
// permission new" is the escalation check's own coverage test,
// k8s.io/component-helpers/auth/rbac/validation.Covers, so a finding means
// what Kubernetes means. Atoms the API server never asks about (list or
// deletecollection on a subresource, impersonate outside the
// impersonation filter's resources) are left out of findings, and a
// decrease spells a narrowed "*" verb out in the verbs it lost
// (WildcardVerbs): see verbs.go.
package rbac
