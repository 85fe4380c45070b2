package checks

import (
	"fmt"

	"github.com/rbacguard/rbacguard/diff/report"
)

// Hand-built reports for the golden tests. Between them they cover every
// kind, every severity, exemptions, failed overlays, verb merging, long
// workload lists, findings without subject or line, and the empty report.

const (
	baseSHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	headSHA = "d4e5f6a7b8c90123456789abcdef0123456789ab"
)

func perm(verb, group, resource string) *report.Permission {
	return &report.Permission{Verbs: []string{verb}, APIGroups: []string{group}, Resources: []string{resource}}
}

func sa(ns, name string) *report.Subject {
	return &report.Subject{Kind: "ServiceAccount", Namespace: ns, Name: name}
}

func nsScope(ns string) *report.Scope { return &report.Scope{Namespace: ns} }

var clusterScope = &report.Scope{Cluster: true}

// withID fills in the finding's id the way the engines do.
func withID(f report.Finding) report.Finding {
	f.ID = report.ID(f.Kind, f.Overlay, subjectKey(f.Subject), f.Scope, f.Permission, f.Message)
	return f
}

func fullReport() *report.Report {
	payments := sa("payments", "api")
	readerVia := []report.Ref{
		{Kind: "RoleBinding", Namespace: "payments", Name: "api", Path: "base/rbac.yaml", Line: 14, Field: "roleRef"},
		{Kind: "Role", Namespace: "payments", Name: "reader", Path: "base/rbac.yaml", Line: 9, Field: "rules[1]"},
	}
	apiWorkload := []report.Workload{{Kind: "Deployment", Namespace: "payments", Name: "api"}}
	deployerVia := []report.Ref{
		{Kind: "ClusterRoleBinding", Name: "deployer", Path: "overlays/prod/rbac.yaml", Line: 30, Field: "subjects[0]"},
		{Kind: "ClusterRole", Name: "deployer", Path: "overlays/prod/rbac.yaml", Line: 22, Field: "rules[0]"},
	}
	var deployers []report.Workload
	for i := range 7 {
		deployers = append(deployers, report.Workload{Kind: "Job", Namespace: "ops", Name: fmt.Sprintf("deploy-%d", i)})
	}

	var fs []report.Finding
	for _, v := range []string{"watch", "get", "list"} {
		fs = append(fs, report.Finding{
			Kind: report.RBACIncrease, Severity: report.High, Overlay: "overlays/prod",
			Subject: payments, Scope: nsScope("payments"), Permission: perm(v, "", "secrets"),
			Via: readerVia, Workloads: apiWorkload,
			Location: report.Location{Path: "overlays/prod/patch-role.yaml", Line: 9},
			Message:  "ServiceAccount payments/api can now " + v + " secrets in namespace payments",
			Risk:     "reads every Secret in the namespace, including other service accounts' tokens",
		})
	}
	for _, v := range []struct {
		verb string
		sev  report.Severity
	}{{"escalate", report.Critical}, {"create", report.High}, {"bind", report.Critical}} {
		fs = append(fs, report.Finding{
			Kind: report.RBACIncrease, Severity: v.sev, Overlay: "overlays/prod",
			Subject: sa("ops", "deployer"), Scope: clusterScope, Permission: perm(v.verb, "rbac.authorization.k8s.io", "clusterroles"),
			Via: deployerVia, Workloads: deployers,
			Location: report.Location{Path: "overlays/prod/rbac.yaml", Line: 22},
			Message:  "ServiceAccount ops/deployer can now " + v.verb + " rbac.authorization.k8s.io/clusterroles cluster-wide",
			Risk:     "can grant itself or anyone any permission in the cluster",
		})
	}
	fs = append(fs,
		report.Finding{
			Kind: report.RBACIncrease, Severity: report.Medium, Overlay: "overlays/prod",
			Subject: payments, Scope: nsScope("payments"), Permission: perm("update", "*", "*/scale"),
			Via: readerVia, Workloads: apiWorkload,
			Location: report.Location{Path: "overlays/prod/patch-role.yaml", Line: 9},
			Message:  "ServiceAccount payments/api can now update */scale in namespace payments",
		},
		report.Finding{
			Kind: report.RBACIncrease, Severity: report.Low, Overlay: "overlays/prod",
			Subject: &report.Subject{Kind: "ClusterRole", Name: "view"}, Scope: clusterScope, Permission: perm("list", "", "configmaps"),
			Via:      []report.Ref{{Kind: "ClusterRole", Name: "view-extra", Path: "overlays/prod/aggregate.yaml", Line: 3, Field: "metadata.labels"}},
			Location: report.Location{Path: "overlays/prod/aggregate.yaml", Line: 5},
			Message:  "everyone bound to ClusterRole view can now list configmaps cluster-wide",
			Risk:     "built-in role extended through rbac.authorization.k8s.io/aggregate-to-view",
		},
		report.Finding{
			Kind: report.RBACIncrease, Severity: report.Critical, Overlay: "overlays/prod",
			Subject: sa("monitoring", "prometheus"), Scope: clusterScope, Permission: perm("get", "", "nodes/proxy"),
			Via:       []report.Ref{{Kind: "ClusterRoleBinding", Name: "prometheus", Path: "overlays/prod/monitoring.yaml", Line: 8}},
			Workloads: []report.Workload{{Kind: "StatefulSet", Namespace: "monitoring", Name: "prometheus"}},
			Location:  report.Location{Path: "overlays/prod/monitoring.yaml", Line: 8},
			Message:   "ServiceAccount monitoring/prometheus can now get nodes/proxy cluster-wide",
			Risk:      "nodes/proxy reaches the kubelet API, which can run commands in any pod on the node",
			Exemption: &report.Exemption{Reason: "prometheus scrapes kubelet metrics <via proxy>", Expires: "2027-01-31", Source: "rbacguard.yaml:12"},
		},
		report.Finding{
			Kind: report.RBACEscalation, Severity: report.Critical, Overlay: "overlays/prod",
			Subject: payments, Scope: clusterScope, Permission: perm("*", "*", "*"),
			Via: readerVia, Workloads: apiWorkload,
			Location: report.Location{Path: "overlays/prod/patch-role.yaml", Line: 9},
			Message:  "ServiceAccount payments/api can now become ServiceAccount ops/deployer: payments/api → create serviceaccounts/token deployer in ops → ops/deployer → cluster-admin",
			Risk:     "ops/deployer holds cluster-admin: full control of the cluster, including every resource added later",
			Path: []report.PathStep{{
				From: *payments, Primitive: "create serviceaccounts/token deployer in ops", To: *sa("ops", "deployer"),
				Grants: []report.PathGrant{{Permission: report.Permission{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, ResourceNames: []string{"deployer"}},
					Scope: report.Scope{Namespace: "ops"}, Via: readerVia}},
			}},
		},
		report.Finding{
			Kind: report.RBACDecrease, Severity: report.Info, Overlay: "overlays/prod",
			Subject: payments, Scope: nsScope("payments"), Permission: perm("delete", "", "pods"),
			Location: report.Location{Path: "base/rbac.yaml", Line: 9},
			Message:  "ServiceAccount payments/api can no longer delete pods in namespace payments",
		},
		report.Finding{
			Kind: report.RBACUnresolvedRole, Severity: report.Info, Overlay: "overlays/prod",
			Subject: &report.Subject{Kind: "Group", Name: "payments-devs"}, Scope: nsScope("payments"),
			Via:      []report.Ref{{Kind: "RoleBinding", Namespace: "payments", Name: "legacy", Path: "overlays/prod/legacy.yaml", Line: 4, Field: "roleRef"}},
			Location: report.Location{Path: "overlays/prod/legacy.yaml", Line: 4},
			Message:  "Group payments-devs is bound to ClusterRole custom-admin, which is neither in the repository nor built in",
		},
		report.Finding{
			Kind: report.RBACInert, Severity: report.Info, Overlay: "overlays/prod",
			Subject: payments, Scope: nsScope("payments"), Permission: perm("get", "", "pods/*"),
			Via:      readerVia[1:],
			Location: report.Location{Path: "base/rbac.yaml", Line: 11},
			Message:  "ServiceAccount payments/api: rule grants get pods/*, which matches no request (pods/* is not a wildcard)",
		},
		report.Finding{
			Kind: report.TokenAutomount, Severity: report.High, Overlay: "overlays/prod",
			Subject: payments, Workloads: apiWorkload,
			Location: report.Location{Path: "overlays/prod/deployment.yaml", Line: 12},
			Message:  "Deployment payments/api now mounts the token of ServiceAccount payments/api",
			Risk:     "code in the pod can use the account's permissions (get, list, watch secrets)",
		},
		report.Finding{
			Kind: report.TokenLegacySecret, Severity: report.High, Overlay: "overlays/prod",
			Subject:   sa("ci", "runner"),
			Location:  report.Location{Path: "overlays/prod/ci-token.yaml"},
			Message:   "Secret ci/runner-token is a long-lived token of ServiceAccount ci/runner",
			Exemption: &report.Exemption{Reason: "CI runner needs a static token until it migrates"},
		},
		report.Finding{
			Kind: report.TokenProjected, Severity: report.Medium, Overlay: "overlays/prod",
			Subject: payments, Workloads: apiWorkload,
			Location: report.Location{Path: "overlays/prod/deployment.yaml", Line: 29},
			Message:  "Deployment payments/api: projected token expirationSeconds 3600 → 86400 and audience removed",
		},
		report.Finding{
			Kind: report.TokenJWTLiteral, Severity: report.Critical, Overlay: "overlays/prod",
			Location: report.Location{Path: "overlays/prod/configmap.yaml", Line: 7},
			Message:  "ConfigMap payments/client-config data.token holds a JWT (issuer https://kubernetes.default.svc, subject system:serviceaccount:payments:api, never expires)",
			Risk:     "anyone who can read the repository can call the API server as this service account",
		},
		report.Finding{
			Kind: report.AuthnAPIServerFlag, Severity: report.Critical, Overlay: "clusters/control-plane",
			Location: report.Location{Path: "clusters/control-plane/kube-apiserver.yaml", Line: 18},
			Message:  "kube-apiserver --anonymous-auth changed from false to true",
			Risk:     "unauthenticated requests reach the API as system:anonymous",
		},
		report.Finding{
			Kind: report.AuthnJWTConfig, Severity: report.High, Overlay: "clusters/control-plane",
			Location: report.Location{Path: "clusters/control-plane/auth-config.yaml", Line: 9},
			Message:  "JWT authenticator https://issuer.example.com drops its claimValidationRules",
		},
		report.Finding{
			Kind: report.RenderError, Severity: report.High, Overlay: "overlays/broken",
			Location: report.Location{Path: "overlays/broken/kustomization.yaml"},
			Message:  "overlays/broken failed to render at head: accumulating resources: '../missing' does not exist",
		},
		report.Finding{
			Kind: report.ManifestError, Severity: report.Medium, Overlay: "overlays/prod",
			Location: report.Location{Path: "overlays/prod/bad.yaml", Line: 3},
			Message:  "overlays/prod/bad.yaml:3: document 2 has no kind",
		},
		report.Finding{
			Kind: report.RenderPartial, Severity: report.Medium, Overlay: "overlays/flux",
			Location: report.Location{Path: "overlays/flux/kustomization.yaml", Line: 4},
			Message:  "overlay overlays/flux was rendered without 1 input(s) rbacguard never fetches or runs; what they add is not checked: https://example.com/controller.yaml (overlays/flux/kustomization.yaml:4)",
		},
		report.Finding{
			Kind: report.RenderUnpinned, Severity: report.Medium, Overlay: "overlays/flux",
			Location: report.Location{Path: "overlays/flux/kustomization.yaml", Line: 5},
			Message:  "overlay overlays/flux names the remote base github.com/acme/bases/rbac?ref=main at a branch or no ref: what it grants can change without a pull request, and it is not checked",
		},
		report.Finding{
			Kind: report.RenderFirst, Severity: report.Medium, Overlay: "clusters/prod/kyverno",
			Location: report.Location{Path: "clusters/prod/kyverno/kustomization.yaml", Line: 4},
			Message:  "chart kyverno 3.3.4 renders for the first time in this change (the base could not render it): what it grants was never checked — 9 critical, 7 high; each is told at info, as the cluster may run it already",
		},
		report.Finding{
			Kind: report.ManifestTemplate, Severity: report.Info, Overlay: "clusters/control-plane",
			Location: report.Location{Path: "clusters/control-plane/templates/role.yaml", Line: 1},
			Message:  "2 file(s) in clusters/control-plane/templates are templates ({{ … }} or ${VAR} syntax), not manifests: not checked",
		},
		report.Finding{
			Kind: report.ManifestUnused, Severity: report.Info,
			Location: report.Location{Path: "overlays/prod/extra/role.yaml", Line: 1},
			Message:  "overlays/prod/extra/role.yaml: ClusterRole extra not part of any overlay: nothing renders it, so it is not checked",
		},
		report.Finding{
			Kind: report.RenderError, Severity: report.Info, Overlay: "overlays/legacy", Preexisting: true,
			Location: report.Location{Path: "overlays/legacy/kustomization.yaml", Line: 2},
			Message:  "overlay overlays/legacy cannot be rendered at the base either: kustomization cycle",
		},
		report.Finding{
			Kind: report.PolicyChange, Severity: report.Medium,
			Location: report.Location{Path: "rbacguard.yaml", Line: 10},
			Message:  "rbacguard.yaml adds an exemption for ServiceAccount ops/deployer (takes effect after merge)",
		},
		report.Finding{
			Kind: report.PolicyExpired, Severity: report.Low,
			Location: report.Location{Path: "rbacguard.yaml", Line: 20},
			Message:  "the exemption for ServiceAccount payments/batch expired on 2026-10-01",
		},
		report.Finding{
			Kind: report.AuditWeakened, Severity: report.High, Overlay: "clusters/control-plane",
			Permission: perm("get", "", "secrets"),
			Via:        []report.Ref{{Kind: "Policy", Name: "clusters/control-plane/audit-policy.yaml", Path: "clusters/control-plane/audit-policy.yaml", Line: 5, Field: "rules[0]"}},
			Location:   report.Location{Path: "clusters/control-plane/audit-policy.yaml", Line: 5},
			Message:    "Policy in clusters/control-plane/audit-policy.yaml: get secrets is no longer logged for group system:nodes (rules[0] decides it: level None)",
			Risk:       "reads of Secrets (tokens, passwords, keys) can no longer be traced",
		},
	)
	for i := range fs {
		fs[i] = withID(fs[i])
	}
	r := &report.Report{
		Mode: "diff", Base: baseSHA, Head: headSHA,
		Overlays: []report.Overlay{
			{Path: "clusters/control-plane", Status: report.OverlayRendered},
			{Path: "overlays/broken", Status: report.OverlayFailed, Error: "kustomize build overlays/broken:\naccumulating resources: '../missing' does not exist"},
			{Path: "overlays/dev", Status: report.OverlayUnchanged},
			{Path: "overlays/flux", Status: report.OverlayPartial, Skipped: []report.SkippedInput{
				{Path: "overlays/flux/kustomization.yaml", Line: 4, What: "https://example.com/controller.yaml", Why: "would be fetched from the network"}}},
			{Path: "overlays/legacy", Status: report.OverlayFailed, Error: "kustomization cycle"},
			{Path: "overlays/prod", Status: report.OverlayRendered},
		},
		Findings: fs,
	}
	r.Finish(report.High)
	return r
}

// scanReport is a scan with a critical gate: risky grants that pass.
func scanReport() *report.Report {
	fs := []report.Finding{
		{
			Kind: report.RBACGrant, Severity: report.High, Overlay: "overlays/prod",
			Subject: sa("payments", "api"), Scope: nsScope("payments"), Permission: perm("create", "", "pods/exec"),
			Via:       []report.Ref{{Kind: "RoleBinding", Namespace: "payments", Name: "debug", Path: "overlays/prod/debug.yaml", Line: 3}},
			Workloads: []report.Workload{{Kind: "Deployment", Namespace: "payments", Name: "api"}},
			Location:  report.Location{Path: "overlays/prod/debug.yaml", Line: 12},
			Message:   "ServiceAccount payments/api can create pods/exec in namespace payments",
			Risk:      "runs commands in any pod of the namespace",
		},
		{
			Kind: report.RBACGrant, Severity: report.Medium, Overlay: "overlays/prod",
			Subject: sa("payments", "api"), Scope: nsScope("payments"), Permission: perm("patch", "apps", "deployments"),
			Location: report.Location{Path: "overlays/prod/debug.yaml", Line: 14},
			Message:  "ServiceAccount payments/api can patch apps/deployments in namespace payments",
		},
		{
			Kind: report.AuditUnlogged, Severity: report.Medium, Overlay: "control-plane",
			Permission: perm("create", "", "serviceaccounts/token"),
			Via:        []report.Ref{{Kind: "Policy", Name: "control-plane/audit-policy.yaml", Path: "control-plane/audit-policy.yaml", Line: 9, Field: "rules[1]"}},
			Location:   report.Location{Path: "control-plane/audit-policy.yaml", Line: 9},
			Message:    "Policy in control-plane/audit-policy.yaml: create serviceaccounts/token is logged for nobody",
			Risk:       "who minted or checked a token, and who asked what they may do, can no longer be traced",
		},
		{
			Kind: report.RBACUnused, Severity: report.Info, Overlay: "overlays/prod",
			Subject: sa("payments", "api"), Scope: nsScope("payments"), Permission: perm("patch", "apps", "deployments"),
			Location: report.Location{Path: "overlays/prod/debug.yaml", Line: 14},
			Message:  "ServiceAccount payments/api never used patch apps/deployments in namespace payments between 2026-11-01T00:00:00Z and 2026-11-30T23:59:59Z",
		},
	}
	for i := range fs {
		fs[i] = withID(fs[i])
	}
	r := &report.Report{
		Mode: "scan", Head: "main",
		Overlays: []report.Overlay{{Path: "overlays/prod", Status: report.OverlayRendered}},
		Findings: fs,
	}
	r.Finish(report.Critical)
	return r
}

func emptyReport() *report.Report {
	r := &report.Report{
		Mode: "diff", Base: baseSHA, Head: headSHA,
		Overlays: []report.Overlay{{Path: "overlays/prod", Status: report.OverlayRendered}},
	}
	r.Finish(report.High)
	return r
}

// patches is the pull request's files API view of fullReport's change.
func patches() map[string]string {
	return map[string]string{
		"overlays/prod/rbac.yaml": `@@ -16,6 +16,10 @@ metadata:
 kind: ClusterRole
 metadata:
   name: deployer
+rules:
+- apiGroups: ["rbac.authorization.k8s.io"]
+  resources: ["clusterroles"]
+  verbs: ["*"]
 ---
 apiVersion: rbac.authorization.k8s.io/v1
 kind: ClusterRoleBinding`,
		"overlays/prod/deployment.yaml": `@@ -10,6 +10,6 @@ spec:
     spec:
       serviceAccountName: api
-      automountServiceAccountToken: false
+      automountServiceAccountToken: true  # needs the API
       containers:
       - name: api
         image: api:1.2
@@ -27,4 +27,4 @@ spec:
           sources:
           - serviceAccountToken:
-              expirationSeconds: 3600
-              audience: vault
+              expirationSeconds: 86400
+              path: token`,
		"overlays/prod/patch-role.yaml": `@@ -0,0 +1,10 @@
+apiVersion: rbac.authorization.k8s.io/v1
+kind: Role
+metadata:
+  name: reader
+  namespace: payments
+rules:
+- apiGroups: [""]
+  resources: ["configmaps"]
+- apiGroups: ["", "*"]
+  resources: ["secrets", "*/scale"]`,
		"overlays/prod/monitoring.yaml": `@@ -6,3 +6,3 @@ roleRef:
 subjects:
-- kind: ServiceAccount
+- kind: ServiceAccount # prometheus
   name: prometheus`,
		"overlays/prod/configmap.yaml": "", // too large: GitHub sends no patch
	}
}
