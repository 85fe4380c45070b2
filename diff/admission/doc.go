// Package admission restates the policy's single-object checks for the
// cluster: it writes ValidatingAdmissionPolicy and
// ValidatingAdmissionPolicyBinding objects (admissionregistration.k8s.io/v1)
// whose CEL says what the CLI says about one object, so that a `kubectl
// apply` by hand meets the same gate as a pull request.
//
// It is beside the pipeline, not in it: it reads the policy (diff/policy)
// and the severity table (diff/rbac RiskClasses) and writes objects; it
// never sees a tree. The package is pure: Export takes the time, for
// exemption expiry.
//
// # Checks
//
//	check                             objects                  severity (default)
//	role-rules, clusterrole-rules     Role, ClusterRole        the first class of the severity
//	                                                           table a rule with "*" in verbs,
//	                                                           apiGroups or resources, or with
//	                                                           escalate, bind or impersonate,
//	                                                           reaches (critical … low)
//	binding-cluster-admin             (Cluster)RoleBinding     critical
//	binding-everyone                  (Cluster)RoleBinding     critical: system:authenticated,
//	                                                           system:unauthenticated,
//	                                                           system:serviceaccounts, system:anonymous
//	binding-namespace-serviceaccounts (Cluster)RoleBinding     high: system:serviceaccounts:<ns>
//	pod-default-token, template-      Pod, workloads, CronJob  low: runs as "default", token mounted
//	default-token, cronjob-default-token
//	secret-legacy-token               Secret (create)          high: kubernetes.io/service-account-token
//
// A rule check is written once per severity its classes end up with after
// the policy's severity rules, so that each severity gets its own
// validationActions: Deny at or above failOn, Warn and Audit below.
//
// # What one object cannot say
//
// A Role is judged in its namespace, a ClusterRole cluster-wide for
// cluster-scoped resources but not for "every Secret of the cluster" (the
// binding decides that; the CLI sees it). A binding's role is not read, so
// a binding to everyone is critical whatever it grants, as the CLI rates
// it. The default ServiceAccount's own automountServiceAccountToken is not
// visible to a Pod's admission: a pod that sets none is taken to mount the
// token. Effective permissions through aggregation, escalation paths and
// anything else that needs the whole graph stay with the CLI.
//
// # Exemptions
//
// An exemption or allow entry in force becomes, per check it covers
// (its kind and permission patterns, matched by the policy's own
// matcher): nothing, when it names no object (the check is not exported);
// the binding's namespaceSelector, when it names only a namespace and the
// check's objects live in their subject's namespace; else a matchCondition
// on the object's subjects, account or workload. An expired exemption,
// and one that names an overlay, are not exported (Export notes them).
package admission
