package diff

import (
	"github.com/rbacguard/rbacguard/diff/escalation"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/token"
)

// analyze compares one overlay's objects at base and head: effective RBAC
// permissions first, then token exposure and authentication settings,
// judged with what the RBAC engine says each account can do at head.
func analyze(overlay string, base, head []*manifest.Object, o Options, changed func(string, int) bool) []report.Finding {
	// A cluster's export holds Kubernetes' own bootstrap objects: they are
	// the built-ins, not the tree's content (rbac.WithoutBootstrap).
	bg := rbac.Build(rbac.WithoutBootstrap(base), o.rbacOptions(nil))
	hg := rbac.Build(rbac.WithoutBootstrap(head), o.rbacOptions(changed))
	findings := rbac.Compare(overlay, bg, hg)
	findings = append(findings, escalation.Compare(overlay, escalation.Build(bg, base, o.escalationOptions(nil)), escalation.Build(hg, head, o.escalationOptions(changed)))...)
	addWorkloads(findings, head, o.DefaultNamespace)
	increased := map[[2]string]bool{}
	for _, f := range findings {
		if f.Kind == report.RBACIncrease && f.Subject.Kind == "ServiceAccount" {
			increased[[2]string{f.Subject.Namespace, f.Subject.Name}] = true
		}
	}
	to := token.Options{
		DefaultNamespace: o.DefaultNamespace,
		AccountRisk:      hg.AccountRisk,
		AccountIncrease:  func(ns, name string) bool { return increased[[2]string{ns, name}] },
	}
	return append(findings, token.Compare(overlay, base, head, to)...)
}

// scanOverlay reports the risky access and token exposure one overlay has.
func scanOverlay(overlay string, objs []*manifest.Object, o Options) []report.Finding {
	g := rbac.Build(rbac.WithoutBootstrap(objs), o.rbacOptions(nil))
	findings := rbac.Scan(overlay, g)
	findings = append(findings, escalation.Scan(overlay, escalation.Build(g, objs, o.escalationOptions(nil)))...)
	addWorkloads(findings, objs, o.DefaultNamespace)
	to := token.Options{DefaultNamespace: o.DefaultNamespace, AccountRisk: g.AccountRisk}
	return append(findings, token.Scan(overlay, objs, to)...)
}

// escalationOptions tune the escalation paths of one side (changed is
// set for head only).
func (o Options) escalationOptions(changed func(string, int) bool) escalation.Options {
	return escalation.Options{DefaultNamespace: o.DefaultNamespace, LegacyTokens: escalation.LegacyTokens(o.LegacyTokens), Changed: changed}
}
