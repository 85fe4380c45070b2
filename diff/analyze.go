package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/audit"
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
	to := token.Options{
		DefaultNamespace: o.DefaultNamespace,
		AccountRisk:      hg.AccountRisk,
		AccountIncrease:  accountIncreases(findings),
	}
	findings = append(findings, audit.Compare(overlay, base, head, o.DefaultNamespace)...)
	return append(findings, token.Compare(overlay, base, head, to)...)
}

// accountIncreases tells, per service account, what this change adds to
// it: the severity of its most severe increase (or new escalation path)
// and a phrase naming it, "can now create,patch events cluster-wide (and 2
// more increases)". A token finding about the account says this, never what the
// account could already do.
func accountIncreases(findings []report.Finding) func(ns, name string) (report.Severity, string) {
	type added struct {
		sev   report.Severity
		top   string              // what the most severe increase grants, verbs merged
		verbs map[string][]string // by what is granted: every verb new on it
		what  map[string]bool     // every rule or path that grew it (cause)
	}
	by := map[[2]string]*added{}
	for _, f := range findings {
		if f.Subject == nil || f.Subject.Kind != "ServiceAccount" || f.Kind != report.RBACIncrease && f.Kind != report.RBACEscalation {
			continue
		}
		k := [2]string{f.Subject.Namespace, f.Subject.Name}
		a := by[k]
		if a == nil {
			a = &added{what: map[string]bool{}, verbs: map[string][]string{}}
			by[k] = a
		}
		what, verbs := newPower(f)
		a.what[cause(f)] = true
		a.verbs[what] = append(a.verbs[what], verbs...) // delete beside a more severe create: both are new
		if f.Severity.Rank() > a.sev.Rank() {
			a.sev, a.top = f.Severity, what
		}
	}
	return func(ns, name string) (report.Severity, string) {
		a := by[[2]string{ns, name}]
		if a == nil {
			return "", ""
		}
		phrase := strings.Replace(a.top, "\x00", strings.Join(slices.Compact(report.SortVerbs(a.verbs[a.top])), ","), 1)
		if n := len(a.what) - 1; n > 0 {
			word := "increases"
			if n == 1 {
				word = "increase"
			}
			phrase += fmt.Sprintf(" (and %d more %s)", n, word)
		}
		return a.sev, phrase
	}
}

// cause is what makes an increase one finding once grouped (one rule
// through one binding, report.GroupByRule) or an escalation one path.
func cause(f report.Finding) string {
	if f.Kind == report.RBACEscalation {
		return f.ID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v|", f.Scope)
	for _, v := range f.Via {
		b.WriteString(v.Object() + "|")
	}
	return b.String()
}

// newPower is what an increase or escalation finding adds, without its
// subject, with "\x00" standing for the verbs it returns apart, so that
// atoms differing only in their verb read as one: "can now \x00 secrets in
// namespace shop", or "can now become ServiceAccount shop/report".
func newPower(f report.Finding) (string, []string) {
	if f.Kind == report.RBACIncrease && f.Permission != nil && f.Scope != nil {
		p := *f.Permission
		p.Verbs = []string{"\x00"}
		return "can now " + p.String() + " " + f.Scope.String(), f.Permission.Verbs
	}
	m := strings.TrimPrefix(f.Message, f.Subject.String()+" ")
	m, _, _ = strings.Cut(m, ": ")
	return m, nil
}

// scanOverlay reports the risky access and token exposure one overlay has.
func scanOverlay(overlay string, objs []*manifest.Object, o Options) []report.Finding {
	g := rbac.Build(rbac.WithoutBootstrap(objs), o.rbacOptions(nil))
	findings := rbac.Scan(overlay, g)
	findings = append(findings, escalation.Scan(overlay, escalation.Build(g, objs, o.escalationOptions(nil)))...)
	addWorkloads(findings, objs, o.DefaultNamespace)
	to := token.Options{DefaultNamespace: o.DefaultNamespace, AccountRisk: g.AccountRisk}
	findings = append(findings, audit.Scan(overlay, objs, o.DefaultNamespace)...)
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
		if s == nil || findings[i].Permission == nil || s.EveryPod() != "" {
			continue // a group every pod's account is in: "every pod", not a list
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
