package checks

import "github.com/rbacguard/rbacguard/diff/report"

// kindInfo explains one finding kind to a reader: SARIF rules, the check
// run's help text and the review comments all draw from it, so the wording
// stays the same everywhere.
type kindInfo struct {
	Kind report.Kind
	// Name is a PascalCase rule name (SARIF reportingDescriptor.name).
	Name string
	// Short is one sentence; Full adds what it means; Help says how to fix
	// it, in Markdown.
	Short, Full, Help string
	// Severity is the default severity of the kind, used where a tool
	// wants one number per rule (SARIF security-severity).
	Severity report.Severity
	Tags     []string
}

// kinds lists every finding kind of the report contract, in a stable order.
// TestKinds_CoverContract checks that none is missing.
func kinds() []kindInfo {
	return []kindInfo{
		{
			Kind: report.RBACIncrease, Name: "RBACPrivilegeIncrease", Severity: report.High,
			Short: "A subject gains Kubernetes API permissions it did not have before the change.",
			Full: "After the change, a subject (service account, user, group, or everyone bound to a ClusterRole) " +
				"holds an atomic permission (verb × resource, or verb × non-resource URL) that no rule covered at the base. " +
				"Coverage follows the API server's own escalation check, so a finding means what Kubernetes means.",
			Help: "**What changed:** the subject can now perform a request it could not perform before.\n\n" +
				"**How to fix:**\n" +
				"- Grant only the verbs and resources the workload needs; avoid `*` in `verbs`, `resources` and `apiGroups`.\n" +
				"- Prefer a `RoleBinding` (one namespace) to a `ClusterRoleBinding` (every namespace).\n" +
				"- Narrow with `resourceNames` where the objects are known.\n" +
				"- If the increase is intended, accept it with an exemption in the policy file, with a reason and an expiry date.",
			Tags: []string{"security", "kubernetes", "rbac"},
		},
		{
			Kind: report.RBACDecrease, Name: "RBACPrivilegeDecrease", Severity: report.Info,
			Short: "A subject loses Kubernetes API permissions.",
			Full:  "After the change, a subject no longer holds a permission it held at the base. This is reported for information: workloads that relied on it may fail.",
			Help:  "**What changed:** a permission was removed.\n\n**What to check:** make sure no workload still needs it (look for `forbidden` errors in its logs after rollout). No fix is needed if the removal is intended.",
			Tags:  []string{"kubernetes", "rbac"},
		},
		{
			Kind: report.RBACUnresolvedRole, Name: "RBACUnresolvedRole", Severity: report.Info,
			Short: "A binding refers to a role that is neither in the repository nor a known built-in role.",
			Full:  "The roleRef of a RoleBinding or ClusterRoleBinding resolves nowhere, so the permissions it grants are unknown (not zero). The comparison cannot tell whether the change increases privileges through it.",
			Help:  "**How to fix:** add the role to the repository, correct the `roleRef` name or kind, or describe the external role in the policy file so its rules are known.",
			Tags:  []string{"kubernetes", "rbac"},
		},
		{
			Kind: report.RBACInert, Name: "RBACInertRule", Severity: report.Info,
			Short: "A rule grants no real request.",
			Full:  "The rule cannot match any request the API server authorizes: for example `pods/*` (not a wildcard: the authorizer matches it literally), `*/*`, or a cluster-scoped resource or non-resource URL granted through a RoleBinding.",
			Help:  "**How to fix:** write the rule the way the authorizer reads it — `pods/exec` or `*` instead of `pods/*`; bind with a `ClusterRoleBinding` if cluster-scoped access is really intended; or delete the rule, since it does nothing.",
			Tags:  []string{"kubernetes", "rbac", "correctness"},
		},
		{
			Kind: report.RBACGrant, Name: "RBACRiskyGrant", Severity: report.High,
			Short: "The tree grants a risky permission (scan mode).",
			Full:  "In scan mode, rbacguard reports the risky permissions a tree grants, whether or not they changed: secrets read, pod exec, escalate/bind/impersonate, token creation, wildcards and the like.",
			Help:  "**How to fix:** reduce the grant to the verbs and resources the subject needs, or record an exemption with a reason if it is intended.",
			Tags:  []string{"security", "kubernetes", "rbac"},
		},
		{
			Kind: report.RBACEscalation, Name: "RBACEscalationPath", Severity: report.Critical,
			Short: "A subject can now become another identity: a service account, a user, a group, or any role.",
			Full: "Through an escalation primitive (running a pod, exec into one, minting or reading a token, impersonation, bind or escalate, " +
				"approving a certificate, a mutating webhook), the subject can act as an identity it could not reach before the change. " +
				"The severity is that of the identity's most severe permission; the path is given step by step, each step a permission the subject holds.",
			Help: "**What changed:** a step of the path is new (the finding points at the line that opened it).\n\n" +
				"**How to fix:**\n" +
				"- Take away the step: narrow the permission that opens it (a namespace without powerful accounts, `resourceNames`, no `create pods` where admins run).\n" +
				"- Or take the power from the identity at the end: move a powerful service account out of the namespace others can run pods in.\n" +
				"- If the path is intended, accept it with an exemption in the policy file, with a reason and an expiry date.",
			Tags: []string{"security", "kubernetes", "rbac"},
		},
		{
			Kind: report.TokenAutomount, Name: "ServiceAccountTokenAutomount", Severity: report.High,
			Short: "A workload mounts a service-account token it did not mount before, or whose account gained permissions.",
			Full:  "The effective token mount of a pod is the pod's `automountServiceAccountToken`, else its service account's, else true. A mounted token lets anyone who can run code in the pod act with the account's permissions.",
			Help:  "**How to fix:** set `automountServiceAccountToken: false` on the pod spec (or the ServiceAccount) unless the workload calls the Kubernetes API; if it does, keep the account's permissions minimal.",
			Tags:  []string{"security", "kubernetes", "token"},
		},
		{
			Kind: report.TokenLegacySecret, Name: "ServiceAccountLegacyTokenSecret", Severity: report.High,
			Short: "A Secret of type kubernetes.io/service-account-token creates a long-lived token.",
			Full:  "Secrets of type `kubernetes.io/service-account-token` hold tokens that never expire and are readable by anyone who can read Secrets in the namespace.",
			Help:  "**How to fix:** remove the Secret and use short-lived tokens: the projected token that pods get by default, or `kubectl create token` / the TokenRequest API for clients outside the cluster.",
			Tags:  []string{"security", "kubernetes", "token"},
		},
		{
			Kind: report.TokenProjected, Name: "ServiceAccountProjectedToken", Severity: report.Medium,
			Short: "A projected service-account token became longer-lived or usable by more audiences.",
			Full:  "A `serviceAccountToken` projected volume changed: a longer `expirationSeconds`, an empty audience (usable against the API server), or a new audience.",
			Help:  "**How to fix:** keep `expirationSeconds` short (the default is one hour) and set an explicit `audience` naming the one service that must accept the token.",
			Tags:  []string{"security", "kubernetes", "token"},
		},
		{
			Kind: report.TokenJWTLiteral, Name: "CommittedJWT", Severity: report.Critical,
			Short: "A JSON Web Token is committed in the repository.",
			Full:  "A JWT was found in a Secret, ConfigMap, environment value or kubeconfig. It was decoded without verification to read its issuer, subject, audience and expiry; the token itself is never echoed.",
			Help:  "**How to fix:** treat the token as leaked: revoke it (delete the service account or its token Secret, or rotate the issuer's key), remove it from the change, and load credentials at run time from a secret store instead of the repository.",
			Tags:  []string{"security", "kubernetes", "token", "secret"},
		},
		{
			Kind: report.AuthnAPIServerFlag, Name: "APIServerAuthenticationFlag", Severity: report.Critical,
			Short: "A kube-apiserver authentication or authorization flag was loosened.",
			Full:  "A kube-apiserver flag that governs authentication or authorization changed for the worse: for example `--anonymous-auth=true`, `--authorization-mode` losing RBAC or gaining AlwaysAllow, `--token-auth-file`, a longer `--service-account-max-token-expiration`, or changed issuer, key or OIDC settings.",
			Help:  "**How to fix:** restore the previous value. Keep `--authorization-mode` including `RBAC` and never `AlwaysAllow`, `--anonymous-auth=false` unless health checks need it, and short token lifetimes.",
			Tags:  []string{"security", "kubernetes", "authentication"},
		},
		{
			Kind: report.AuthnJWTConfig, Name: "JWTAuthenticatorLoosened", Severity: report.High,
			Short: "A JWT authenticator of the API server accepts more tokens than before.",
			Full:  "An `AuthenticationConfiguration` JWT authenticator changed its issuer, audiences or `audienceMatchPolicy`, removed claim validation rules, or changed the username claim or prefix so that tokens map to different users.",
			Help:  "**How to fix:** keep audiences explicit, keep claim validation rules, and keep a username prefix so external identities cannot collide with Kubernetes users such as `system:*`.",
			Tags:  []string{"security", "kubernetes", "authentication"},
		},
		{
			Kind: report.RenderError, Name: "OverlayRenderError", Severity: report.High,
			Short: "An overlay could not be rendered, so its permissions are unknown.",
			Full:  "kustomize failed to build the overlay at this revision (or it exceeded a safety limit), so rbacguard cannot compute its effective permissions. A render error counts as a finding so that it cannot hide an increase.",
			Help:  "**How to fix:** run `kustomize build` on the overlay locally and fix the error. Remote bases, plugins, exec functions and Helm inflation are cut out (see `render.partial`), never run.",
			Tags:  []string{"kubernetes", "kustomize"},
		},
		{
			Kind: report.RenderPartial, Name: "OverlayRenderedPartially", Severity: report.Medium,
			Short: "An overlay was rendered without inputs rbacguard did not fetch or could not render, so what they add is not checked.",
			Full: "The overlay names remote resources or bases, Helm charts, KRM functions, plugins or paths outside the repository. " +
				"rbacguard cuts those out and renders the rest as kustomize renders it without them; the objects and patches they would add are not checked. " +
				"It is reported when the change adds such an input or touches the overlay, so that a green check never means an input went unseen.",
			Help: "**How to fix:** vendor the remote files into the repository (or render the Helm chart and commit its output) so they are checked; " +
				"allow the remote base's host and owner in the policy's `remote.allow` and pin it to a tag, so that rbacguard fetches and checks it; or accept the gap with an exemption for this overlay, with a reason.",
			Tags: []string{"kubernetes", "kustomize", "coverage"},
		},
		{
			Kind: report.RenderUnpinned, Name: "RemoteBaseUnpinned", Severity: report.Medium,
			Short: "A remote base names a branch or no ref, so what it grants can change without a pull request.",
			Full: "rbacguard fetches allowed remote bases at a pinned ref (a tag or a commit) and checks what they grant. " +
				"A branch, or no ref at all, names whatever the upstream repository holds when the overlay is deployed: it is not fetched, and the overlay stays partial.",
			Help: "**How to fix:** pin the entry to a tag or a full commit SHA (`?ref=v1.2.3`), so that an upgrade is a pull request rbacguard checks.",
			Tags: []string{"kubernetes", "kustomize", "coverage", "supply-chain"},
		},
		{
			Kind: report.RenderFirst, Name: "ChartFirstRendered", Severity: report.Medium,
			Short: "A Helm chart the base could not render renders for the first time; what it grants was never checked.",
			Full: "At the base the chart was cut out (a version range, a host not allowed, a failed fetch), so nothing it grants was checked; the change makes it render (pinning its version, say) and changes nothing else of the entry. " +
				"Its grants are not this change's doing, so each is told at info, and this one finding counts them by severity, so that pinning a chart does not block on what the cluster already runs.",
			Help: "**What to check:** what the chart grants, once: `rbacguard scan` lists it. A change that also edits the entry's values or the chart is compared as any other.",
			Tags: []string{"kubernetes", "helm", "coverage"},
		},
		{
			Kind: report.ManifestError, Name: "ManifestError", Severity: report.Medium,
			Short: "A document could not be understood.",
			Full:  "A YAML document is malformed or lacks the fields rbacguard needs (apiVersion, kind, metadata.name), so it was left out of the comparison.",
			Help:  "**How to fix:** correct the document; `kubectl apply --dry-run=server` reports the same problem.",
			Tags:  []string{"kubernetes", "correctness"},
		},
		{
			Kind: report.ManifestTemplate, Name: "TemplateFilesSkipped", Severity: report.Info,
			Short: "Files that are templates, not manifests, were passed over.",
			Full:  "YAML files that do not parse and carry template syntax (`{{ … }}`, `${VAR}`) are templates for another tool, not manifests; rbacguard reports them once per directory and does not check them.",
			Help:  "**What to do:** nothing if the directory holds templates. If they are deployed after substitution, check the rendered output instead (commit it, or run rbacguard on it).",
			Tags:  []string{"kubernetes", "coverage"},
		},
		{
			Kind: report.ManifestUnused, Name: "ManifestNotRendered", Severity: report.Info,
			Short: "RBAC objects in a file that no overlay renders.",
			Full:  "The file lies inside a kustomization's directory tree but no kustomization lists it (or it belongs to a kustomization no other one uses, nested in another's tree), so nothing deploys it and rbacguard does not count its grants.",
			Help:  "**How to fix:** list the file (or its kustomization) where it is deployed, so it is checked; or name its directory with `--include` or the policy's `overlays.include` if it is deployed on its own.",
			Tags:  []string{"kubernetes", "coverage"},
		},
		{
			Kind: report.OverlayInherited, Name: "NewOverlayInherits", Severity: report.Low,
			Short: "A new overlay builds on an overlay or base that already existed; it was compared with it.",
			Full: "The pull request adds a kustomize overlay whose resources or bases include a kustomization that existed at the base revision. " +
				"What the new overlay only inherits was already checked there, so it is this one summary, not one finding per grant; " +
				"what the new overlay adds or changes (its own objects, its patches, the namespace it places them in) is reported as increases.",
			Help: "**What to check:** that the overlay it builds on is the one intended, and the increases reported for the new overlay. " +
				"Change this kind's severity in the policy's `severities` to make new overlays block or pass.",
			Tags: []string{"kubernetes", "kustomize"},
		},
		{
			Kind: report.PolicyChange, Name: "PolicyFileChanged", Severity: report.Medium,
			Short: "The change edits rbacguard's own policy file.",
			Full:  "The policy is always read from the base revision, so edits to it take effect only after merge; they are reported so that a reviewer sees new exemptions or a lowered gate.",
			Help:  "**What to check:** that new exemptions have a reason and an expiry date, and that severities or the gate were not lowered without agreement.",
			Tags:  []string{"policy"},
		},
		{
			Kind: report.PolicyExpired, Name: "ExpiredExemption", Severity: report.Medium,
			Short: "A policy exemption has expired.",
			Full:  "An exemption's expiry date has passed, so the findings it covered count against the gate again.",
			Help:  "**How to fix:** fix the findings it covered, or renew the exemption with a new date and a reason.",
			Tags:  []string{"policy"},
		},
		{
			Kind: report.DriftOutOfBand, Name: "OutOfBandGrant", Severity: report.High,
			Short: "The live cluster grants a permission the repository does not.",
			Full: "`rbacguard drift` compared the cluster's exported RBAC with the repository's overlays: a subject holds, in the cluster, " +
				"an atomic permission that nothing in the repository grants. Somebody applied RBAC by hand, or another tool did, " +
				"and no pull request reviewed it. Kubernetes' own bootstrap roles and bindings are not drift; a subject added to one of them is.",
			Help: "**How to fix:** find who created the binding (its `managedFields` and the API server's audit log say), then either " +
				"delete it from the cluster or add it to the repository so that it is reviewed like any other change.",
			Tags: []string{"security", "kubernetes", "rbac", "drift"},
		},
		{
			Kind: report.DriftNotApplied, Name: "GrantNotApplied", Severity: report.Info,
			Short: "The repository grants a permission the live cluster does not have yet.",
			Full:  "`rbacguard drift` found a permission the repository's overlays grant that the cluster's exported RBAC lacks: the last apply has not happened, failed, or went to another cluster.",
			Help:  "**What to check:** that the deployment pipeline applied the overlay to this cluster, and that the export was taken from the right cluster.",
			Tags:  []string{"kubernetes", "rbac", "drift"},
		},
		{
			Kind: report.DriftAdmission, Name: "AdmissionPolicyDrift", Severity: report.High,
			Short: "The cluster's rbacguard admission policies are not what the policy file exports.",
			Full: "`rbacguard drift` found, in the cluster's export, a ValidatingAdmissionPolicy or binding that `rbacguard export admission` writes " +
				"missing, different (checks, validation actions or exemptions) or left over: the cluster's admission gate and the pull-request gate disagree.",
			Help: "**How to fix:** run `rbacguard export admission` with the current policy file and apply its output; delete leftovers.",
			Tags: []string{"kubernetes", "admission", "drift"},
		},
		{
			Kind: report.AuditWeakened, Name: "AuditLoggingWeakened", Severity: report.High,
			Short: "A request the cluster must log stops reaching the audit log for some users or groups.",
			Full: "The API server's audit policy (audit.k8s.io Policy, evaluated as kube-apiserver does: first matching rule wins) logged one of the watched requests " +
				"(minting or reviewing tokens, writing RBAC, impersonation, reading secrets, exec/attach, escalate/bind) at the base and no longer does at the head " +
				"for the users or groups named, or kube-apiserver stops loading a policy or writing events anywhere.",
			Help: "**How to fix:** keep a rule that logs the request at `Metadata` or above, placed before any broader `None` rule, and do not omit the `ResponseComplete` stage for it. " +
				"Keep `--audit-policy-file` and `--audit-log-path` (or `--audit-webhook-config-file`) on kube-apiserver.",
			Tags: []string{"security", "kubernetes", "audit"},
		},
		{
			Kind: report.AuditUnlogged, Name: "AuditRequestUnlogged", Severity: report.Medium,
			Short: "A request the cluster must log is logged for nobody (scan mode).",
			Full:  "In scan mode, the audit policy logs one of the watched requests for no user, or a kube-apiserver has no audit policy or no audit backend.",
			Help:  "**How to fix:** add a rule logging the request at `Metadata` or above before any `None` rule, and set `--audit-policy-file` and `--audit-log-path`.",
			Tags:  []string{"security", "kubernetes", "audit"},
		},
		{
			Kind: report.RBACUnused, Name: "RBACGrantUnused", Severity: report.Info,
			Short: "A grant no request in the audit log used.",
			Full:  "`rbacguard unused` read the cluster's audit log: no logged request of the subject was allowed by this rule (or by these verbs and resources of it) between the first and last event of the log.",
			Help:  "**What to check:** whether the grant is needed for rare work (backups, upgrades) the log does not cover; if not, remove it. `--suggest` prints the smallest rules that cover what the subject did.",
			Tags:  []string{"kubernetes", "rbac", "least-privilege"},
		},
	}
}

// infoFor returns the catalog entry of k, or a generic one for a kind the
// catalog does not know yet (a newer report read by an older formatter).
func infoFor(k report.Kind) kindInfo {
	for _, ki := range kinds() {
		if ki.Kind == k {
			return ki
		}
	}
	return kindInfo{
		Kind: k, Name: string(k), Severity: report.Medium,
		Short: "rbacguard finding " + string(k) + ".",
		Full:  "rbacguard finding of kind " + string(k) + ".",
		Help:  "See the finding's message.",
		Tags:  []string{"kubernetes"},
	}
}
