// Package audit is the compare stage for the API server's audit settings,
// and the reader of its audit log for `rbacguard unused`.
//
// # Audit policy (policy.go, check.go)
//
// An audit.k8s.io Policy is found by kind, as a file of its own or in a
// ConfigMap value (diff/token's configuration reader), and evaluated as
// kube-apiserver evaluates it (k8s.io/apiserver/pkg/audit/policy): the
// first rule that matches decides the level and the omitted stages (the
// policy's omitStages added to the rule's); no match is None. The
// conformance module holds Evaluate to the API server's evaluator on
// random policies. A request is logged when its level is above None and
// its ResponseComplete stage (with the authorization decision) is kept.
//
// The watched requests (requests.go) are: create serviceaccounts/token,
// tokenreviews and subjectaccessreviews; writes of roles, clusterroles and
// their bindings; escalate and bind; impersonate users, groups and service
// accounts; get, list and watch secrets; exec and attach (create and get).
// Each is asked for probes (probe.go): any other user, any other service
// account, anonymous requests, and every user and group the policies name,
// in every namespace and for every object name they name.
//
//	finding          when                                              severity
//	audit.weakened   a watched request logged for a probe at base      high
//	                 is not at head (at the head rule that decides)
//	audit.weakened   kube-apiserver drops --audit-policy-file, or      high
//	                 both --audit-log-path and the webhook config
//	audit.weakened   the policy leaves the tree                        medium
//	audit.unlogged   scan: a watched request logged for no probe       medium
//	audit.unlogged   scan: kube-apiserver without policy or backend    medium
//	either           the policy has over 1,000 rules, or names more     medium
//	                 users and groups (16), namespaces or names (8)
//	                 than are probed: what was not checked is named
//
// The audit filter runs before impersonation, so a policy's users and
// groups are the authenticated caller's. A level that drops from Request
// to Metadata is not reported: who did what, and the decision, stay in the
// log. kube-apiserver command lines come from diff/token: static pods,
// kubeadm ClusterConfiguration, and the ClusterConfiguration patches of
// kind Clusters.
//
// # Audit log (log.go, tally.go, usage.go, suggest.go)
//
// ReadLog streams audit.k8s.io Events (JSON lines as the log backend
// writes them, gzip found by its magic bytes) with bounded memory: one
// line at a time, at most Limits.MaxLine long, and a gzip stream may not
// expand more than Limits.MaxRatio times; bad input is a *LogError at a
// line. Tally counts each request once, at its ResponseComplete (or
// Panic) event, and hands every event after RequestReceived to the
// usages: the subject is the impersonated user when there is one (the
// authorizer asks about it), and the authenticated user is credited with
// the impersonate checks the impersonation filter made.
//
// Usage holds one overlay's grants (rbac.Graph.BoundTo, per subject the
// bindings name) broken into atoms like the escalation check does, and
// marks each atom some logged request of a member of the subject (its own
// name, or a group it is in) was allowed by: Findings reports the rest as
// rbac.unused (info). It keeps the distinct requests each subject made
// (capped) for Suggestions, the audit2rbac-style smallest roles, and for
// Asked, the evidence a diff adds to an increase.
package audit
