package diff

import (
	"cmp"
	"slices"

	"github.com/rbacguard/rbacguard/diff/escalation"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/token"
	"github.com/rbacguard/rbacguard/diff/workload"
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

func (o Options) rbacOptions(changed func(string, int) bool) rbac.Options {
	return rbac.Options{DefaultNamespace: o.DefaultNamespace, ExternalRoles: o.ExternalRoles, Changed: changed}
}

// addWorkloads names, on each permission finding, the workloads whose
// pods hold the subject's token: the pods that gain (or hold) the power.
func addWorkloads(findings []report.Finding, objs []*manifest.Object, defaultNS string) {
	ws := workload.Find(objs, cmp.Or(defaultNS, "default"))
	if len(ws) == 0 {
		return
	}
	sas := workload.ServiceAccounts(objs, cmp.Or(defaultNS, "default"))
	for i := range findings {
		s := findings[i].Subject
		if s == nil || findings[i].Permission == nil {
			continue
		}
		for _, w := range ws {
			rw := report.Workload{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
			// One object defined in several files of an overlay is one workload.
			if w.RunsAs(s.Kind, s.Namespace, s.Name) && workload.MountsToken(w, sas) && !slices.Contains(findings[i].Workloads, rw) {
				findings[i].Workloads = append(findings[i].Workloads, rw)
			}
		}
	}
}

// escalationOptions tune the escalation paths of one side (changed is
// set for head only).
func (o Options) escalationOptions(changed func(string, int) bool) escalation.Options {
	return escalation.Options{DefaultNamespace: o.DefaultNamespace, LegacyTokens: escalation.LegacyTokens(o.LegacyTokens),
		ControllerAccounts: escalation.ControllerAccounts(o.ControllerAccounts), Changed: changed}
}
