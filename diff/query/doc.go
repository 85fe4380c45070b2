// Package query answers the questions a reviewer or an auditor asks of one
// revision, offline, with the compare stage's engine (diff/rbac): who can
// make a request (WhoCan, and NewlyCan against a base), may one identity
// make it (CanI) and what may it do at all (List), per rendered overlay;
// and what a live cluster grants beyond the repository, or the repository
// beyond the cluster (Drift).
//
// Every function is pure: it takes rendered overlays and returns values.
// Rendering and the policy file are the caller's (package diff), printing
// is checks'. Answers walk the RBAC graph the way the API server's
// authorizer does (rbac.Graph.WhoCan, Explain, RulesFor), so they mean what
// Kubernetes means; diff/rbac/conformance holds them to the authorizer.
//
// Requests are spelled as kubectl spells them (Resources.Request):
// plural, singular, short name or kind, RESOURCE.GROUP, TYPE/NAME and
// --subresource, resolved against Kubernetes' own API surface
// (resources.txt, held to k8s.io/api by a test) plus a tree's
// CustomResourceDefinitions; an unknown resource is an error naming the
// nearest ones. ParseRequest reads a request literally, for callers that
// spell it exactly (the conformance suite).
//
// Identities follow kubectl's impersonation (--as, --as-group):
//
//	spelling                          user and groups asked about
//	system:serviceaccount:NS:NAME     that user; system:serviceaccounts, system:serviceaccounts:NS, system:authenticated
//	NAME                              user NAME; system:authenticated
//	system:anonymous                  user system:anonymous; system:unauthenticated
//	--as-group G (repeatable)         the groups given, plus system:authenticated (as the API server adds it)
//
// A live cluster's export (kubectl get clusterroles,clusterrolebindings,
// roles,rolebindings,serviceaccounts -A -o yaml) is read like any tree:
// the server's own fields play no part, and Kubernetes' bootstrap objects
// in it are left to the engine's built-ins (rbac.WithoutBootstrap) rather
// than reported as content.
package query
