package checks

import "github.com/rbacguard/rbacguard/diff/report"

// overlaysReport is a diff that adds an overlay on top of an existing one
// (argo-cd's manifests/dev-tilt): the existing overlay is still there, the
// new one is one overlay.inherited finding plus what it adds, and the
// directories passed over as not deployed are listed once.
func overlaysReport() *report.Report {
	fs := []report.Finding{
		{
			Kind: report.OverlayInherited, Severity: report.Low, Overlay: "manifests/dev-tilt",
			Location: report.Location{Path: "manifests/dev-tilt/kustomization.yaml", Line: 7},
			Message:  "new overlay manifests/dev-tilt deploys what manifests/cluster-install (placed in namespace argocd) deploys, plus: 1 object of its own (Deployment argocd/argocd-ui); more access for ServiceAccount argocd/argocd-ui (findings of this overlay)",
			Risk:     "what it inherits is compared with manifests/cluster-install (placed in namespace argocd) as it was at base; only what the new overlay adds or changes is reported as an increase",
		},
		{
			Kind: report.RBACIncrease, Severity: report.Low, Overlay: "manifests/dev-tilt",
			Subject: sa("argocd", "argocd-ui"), Scope: nsScope("argocd"), Permission: perm("get", "", "configmaps"),
			Via:      []report.Ref{{Kind: "RoleBinding", Namespace: "argocd", Name: "ui", Path: "manifests/dev-tilt/ui-rbac.yaml", Line: 3}},
			Location: report.Location{Path: "manifests/dev-tilt/ui-rbac.yaml", Line: 12},
			Message:  "ServiceAccount argocd/argocd-ui can now get configmaps in namespace argocd",
		},
	}
	r := &report.Report{
		Mode: "diff", Base: baseSHA, Head: headSHA,
		Overlays: []report.Overlay{
			{Path: "manifests/cluster-install", Status: report.OverlayUnchanged},
			{Path: "manifests/dev-tilt", Status: report.OverlayAdded},
		},
		Findings:    fs,
		SkippedDirs: []report.SkippedDir{{Path: "examples", Reason: "examples directories are not deployed (fixtures, examples, tests, docs, scripts, vendored code): passed over; name it in --include or the policy's overlays.include to check it"}},
	}
	for i, f := range r.Findings {
		r.Findings[i] = withID(f)
	}
	r.Finish(report.High)
	return r
}
