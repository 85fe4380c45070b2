// Package escalation is part of the compare stage: it follows what a
// permission really reaches. "Can create pods in shop" means "can become
// every service account of shop", and if one of them is bound to
// cluster-admin two files away, the pull request hands out cluster-admin.
//
// Build reads one revision of one overlay (its rbac.Graph and objects)
// into a graph of identities: the subjects the repository's bindings name,
// its ServiceAccounts (defined, named by a workload, or by a legacy token
// Secret), the accounts kube-system's controllers run as (below), the group
// system:masters, and "any role" in a namespace or cluster-wide (Identity
// kind ClusterRole, name cluster-admin). The edges are the primitives
// below, computed on demand. Compare walks the graph from every subject at
// base and at head and reports each identity a subject can become at head
// and could not at base (kind rbac.escalation); Scan reports what Compare
// would from a tree holding only Kubernetes' built-in policy: every
// identity a subject can become that is more powerful than itself.
//
// # The controllers' accounts
//
// kube-controller-manager with --use-service-account-credentials
// (kubeadm's default) runs each controller as its own ServiceAccount of
// kube-system, and the API server binds each to its bootstrap role
// (system:controller:*, in diff/rbac's bootstrap.yaml, generated from
// Kubernetes' plugin/pkg/auth/authorizer/rbac/bootstrappolicy). Those
// accounts are identities of every model, reached and taking steps like
// the repository's: clusterrole-aggregation-controller may escalate and
// update ClusterRoles, so whoever can run a pod or mint a token in
// kube-system holds any role. rbacguard cannot see how the controllers
// run, so this is an assumption (Options.ControllerAccounts, the policy's
// controllerAccounts: kube-system by default, none for a cluster whose
// controllers share one credential), and a finding whose path goes
// through such an account says so (assumptions.go holds the words). The
// accounts are not starts: their own grants are Kubernetes', and a path
// every grant of which is the built-in policy's is not reported from an
// account the repository binds either.
//
// https://kubernetes.io/docs/reference/access-authn-authz/rbac/#controller-roles
//
// # Correct by construction
//
// Every step is a set of API requests, and each request is asked of the
// RBAC engine (rbac.Holder, which answers exactly as rbac.Graph.Allows,
// held to the Kubernetes authorizer by diff/rbac/conformance). No rule is
// matched here: a step exists only when the engine allows every request of
// it, and the path names, for each, the grant that allows it and its via
// chain. The conformance module's escalation test computes the same
// closure by brute force through the authorizer itself and compares both
// ways.
//
// # Primitives
//
// Each is written as "requests → identities reached", with why it holds.
// N is a namespace; a grant through a ClusterRoleBinding holds in every N.
//
//	create, update or patch pods, deployments, replicasets, statefulsets,
//	daemonsets (apps, extensions), jobs, cronjobs (batch),
//	replicationcontrollers in N → every service account of N.
//	    A pod runs as the account its spec names and the kubelet mounts that
//	    account's token; a controller creates pods from the template it is
//	    given. Admission checks nothing of the account (only that it
//	    exists). Update and patch count: a pod's image can be replaced, a
//	    controller's template rewritten. Named rules (resourceNames) do not
//	    count: a new pod has no name yet, and the names of the pods an
//	    update would reach are not known. Kubernetes:
//	    https://kubernetes.io/docs/concepts/security/rbac-good-practices/#workload-creation
//
//	create or get pods/exec or pods/attach, update or patch
//	pods/ephemeralcontainers in N → the accounts whose pods run in N.
//	    A process started in a running pod reads the token mounted there.
//	    Only the repository's workloads are known to run, and only those
//	    that mount a token count (automountServiceAccountToken, or a
//	    projected token for the API server). get is the verb a WebSocket
//	    upgrade was authorized with before 1.35
//	    (AuthorizePodWebsocketUpgradeCreatePermission). A rule naming pods
//	    reaches only a Pod of that name: controllers name their pods.
//	    https://kubernetes.io/docs/concepts/security/rbac-good-practices/#escalation-paths
//
//	get or create nodes/proxy → every account whose pods run anywhere.
//	    The kubelet API behind nodes/proxy runs commands in any pod on the
//	    node, and its authorization does not see which pod.
//	    https://kubernetes.io/docs/concepts/security/rbac-good-practices/#nodes-proxy
//
//	create serviceaccounts/token (of one account, or all of N) → that
//	account, or every account of N.
//	    The TokenRequest API returns a token of the account.
//	    https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/
//
//	create secrets, with get (of any name), list or watch of secrets, in N
//	→ every account of N.
//	    The token controller fills in any Secret of type
//	    kubernetes.io/service-account-token annotated with an account's
//	    name, whoever made it, and reading it back gives the token. This
//	    holds whatever legacyTokens says: that setting is about Secrets that
//	    already exist. A get named in resourceNames does not count: a Secret
//	    of that name may exist already, holding something else.
//	    https://kubernetes.io/docs/concepts/configuration/secret/#serviceaccount-token-secrets
//
//	get secrets (by name) or list/watch secrets in N → the accounts of the
//	legacy token Secrets the repository defines there; with the policy's
//	legacyTokens: cluster (the default), list or watch → every account of N.
//	    A Secret of type kubernetes.io/service-account-token holds a token of
//	    the account its kubernetes.io/service-account.name annotation names,
//	    which never expires. Kubernetes stopped creating them in 1.24, but a
//	    cluster older than that keeps those in use (LegacyServiceAccount
//	    TokenCleanUp, 1.30, removes only unused ones), and anyone who can
//	    create Secrets can make one; rbacguard cannot see the cluster, so by
//	    default it assumes they may exist. Reading by name needs the name, so
//	    get reaches only Secrets the repository names.
//	    https://kubernetes.io/docs/concepts/configuration/secret/#serviceaccount-token-secrets
//
//	impersonate serviceaccounts (in N, or by name) → those accounts;
//	impersonate users → those users; impersonate groups, together with
//	impersonating some user or account → those groups, system:masters
//	included.
//	    The API server then acts as the impersonated identity; it refuses to
//	    impersonate groups without a user.
//	    https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation
//
//	bind clusterroles named cluster-admin (or any) with create, update or
//	patch of rolebindings in N (clusterrolebindings cluster-wide) → any
//	role in N (cluster-wide); escalate on roles (clusterroles) with create,
//	update or patch of them → the same.
//	    The escalation check lets a subject with bind reference a role it
//	    does not hold, and one with escalate write rules it does not hold
//	    (pkg/registry/rbac/escalation_check.go). Taking a written role as its
//	    own needs a binding to it, which it may hold or write; the whole
//	    scope is assumed.
//	    https://kubernetes.io/docs/concepts/security/rbac-good-practices/#bind-verb
//
//	create certificatesigningrequests, update or patch
//	certificatesigningrequests/approval, and approve on signers named
//	kubernetes.io/kube-apiserver-client (or kubernetes.io/*) → system:masters.
//	    That signer issues client certificates for any name and
//	    organization once approved, and an organization is a group.
//	    https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#kubernetes-signers
//
//	create mutatingwebhookconfigurations, or update or patch them (of any
//	name, or of one a rule names) → every account.
//	    A mutating webhook may rewrite every pod the cluster admits: its
//	    account, image and command. A rule naming a webhook configuration
//	    is written for one that exists (its holder's own, as tekton's
//	    webhook.pipeline.tekton.dev), and rewriting its rules makes it
//	    mutate every pod.
//	    https://kubernetes.io/docs/concepts/security/rbac-good-practices/#control-admission-webhooks
//
//	a write (create; update or patch, of any name or a named one) of
//	mutatingadmissionpolicies together with one of
//	mutatingadmissionpolicybindings → every account.
//	    A mutating admission policy changes objects as a webhook does, once
//	    a binding applies it; the policy alone changes nothing.
//	    https://kubernetes.io/docs/reference/access-authn-authz/mutating-admission-policy/
//
// Decided against: validating webhook configurations and validating
// admission policies (and their bindings) see, and deny, every object
// admitted but change none; pods/portforward reaches a pod's ports, not
// its token. Those stay rbac.increase findings (critical or high) without
// a path.
//
// # What is reported
//
// For each subject and each identity it newly reaches: one finding, at the
// severity of the identity's most severe permission (classified as
// rbac.increase findings are), with the path as one line in the message
// ("shop/ci → create pods in shop → shop/deployer → cluster-admin"), step by
// step in Path (each step's permissions and via chains), and located on the
// line the pull request changed that opened the first step base did not
// have. Left out: identities that hold nothing beyond what every caller
// holds or nothing the subject does not hold already at that level; a
// subject's path when a group it is always in has it too (reported for the
// group); everything else a subject reaches once it can become an identity
// holding everything cluster-wide (that one finding says it). Paths that
// existed at base are not reported. A path that rests on an assumption
// about the cluster (controllerAccounts) ends its message with it. Besides the repository's subjects, a
// diff follows "everyone bound to ClusterRole X" for the ClusterRoles whose
// rules the change extends while their holders live outside the
// repository (a built-in role grown by an aggregation label, a role no
// binding of the tree uses), as rbac.increase reports them.
package escalation
