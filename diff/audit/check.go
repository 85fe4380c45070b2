package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/token"
)

// Compare reports what the change from base to head does to the audit
// settings of one overlay: a watched request that some user's requests
// stop reaching the log with (audit.weakened, high, at the head rule that
// decides), a policy that leaves the tree (medium), and a kube-apiserver
// that stops loading a policy or stops writing events anywhere (high).
func Compare(overlay string, base, head []*manifest.Object, defaultNS string) []report.Finding {
	var out []report.Finding
	bps, hps := policies(base), policies(head)
	for _, pr := range pairs(bps, hps, func(p namedPolicy) string { return p.cfg.ID }) {
		switch {
		case pr.head == nil:
			out = append(out, policyRemoved(overlay, *pr.base))
		case pr.base != nil:
			out = append(out, comparePolicies(overlay, *pr.base, *pr.head)...)
		}
	}
	bs, hs := servers(base, defaultNS), servers(head, defaultNS)
	for _, pr := range pairs(bs, hs, func(a token.APIServer) string { return a.ID }) {
		if pr.base != nil && pr.head != nil {
			out = append(out, compareFlags(overlay, *pr.base, *pr.head)...)
		}
	}
	report.Sort(out)
	return out
}

// Scan reports, for one overlay, the watched requests a policy logs for
// nobody and the kube-apiservers that audit nothing (audit.unlogged,
// medium).
func Scan(overlay string, objs []*manifest.Object, defaultNS string) []report.Finding {
	var out []report.Finding
	for _, np := range policies(objs) {
		if np.err != nil {
			out = append(out, unreadable(overlay, np, report.AuditUnlogged, report.Medium))
			continue
		}
		ps := newProbeSet(np.p)
		if ps.capped {
			out = append(out, tooLarge(overlay, np, report.AuditUnlogged))
		}
		if len(np.p.Rules) > maxRules {
			continue
		}
		for _, w := range WatchedRequests {
			var unlogged []string
			for _, verb := range w.Verbs {
				one := w
				one.Verbs = []string{verb}
				logged := false
				ps.each(one, func(pb probe, r rbac.Request) bool {
					logged = np.p.Evaluate(pb.user, r).Logged()
					return !logged
				})
				if !logged {
					unlogged = append(unlogged, verb)
				}
			}
			if len(unlogged) > 0 {
				w.Verbs = unlogged
				d := np.p.Evaluate(ps.probes[0].user, ps.first(w))
				out = append(out, policyFinding(overlay, report.AuditUnlogged, report.Medium, np, w, d.Rule,
					fmt.Sprintf("%s: %s is logged for nobody", np.cfg.Desc, w.Name())))
			}
		}
	}
	for _, a := range servers(objs, defaultNS) {
		if why := notAuditing(a); why != "" {
			out = append(out, flagFinding(overlay, report.AuditUnlogged, report.Medium, a, a.At, "none", a.Desc+" audits nothing: "+why))
		}
	}
	report.Sort(out)
	return out
}

type namedPolicy struct {
	cfg token.Config
	p   *Policy
	err error
}

// policies finds the audit policies of a tree by kind: files of their own
// and ConfigMap values.
func policies(objs []*manifest.Object) []namedPolicy {
	var out []namedPolicy
	for _, c := range token.Configs(objs, "Policy") {
		p, err := DecodePolicy(c.Obj)
		out = append(out, namedPolicy{cfg: c, p: p, err: err})
	}
	return out
}

type pair[T any] struct{ base, head *T }

// pairs matches base and head items by key; a single unmatched item on
// each side is one item moved.
func pairs[T any](base, head []T, key func(T) string) []pair[T] {
	var out []pair[T]
	used := make([]bool, len(base))
	var lone []int
	for i := range head {
		j := slices.IndexFunc(base, func(b T) bool { return key(b) == key(head[i]) })
		if j >= 0 && !used[j] {
			used[j] = true
			out = append(out, pair[T]{&base[j], &head[i]})
			continue
		}
		lone = append(lone, i)
	}
	var gone []int
	for j := range base {
		if !used[j] {
			gone = append(gone, j)
		}
	}
	if len(lone) == 1 && len(gone) == 1 {
		return append(out, pair[T]{&base[gone[0]], &head[lone[0]]})
	}
	for _, i := range lone {
		out = append(out, pair[T]{nil, &head[i]})
	}
	for _, j := range gone {
		out = append(out, pair[T]{&base[j], nil})
	}
	return out
}

// comparePolicies reports each watched request that a probe's requests
// were logged with at base and are not at head.
func comparePolicies(overlay string, b, h namedPolicy) []report.Finding {
	if b.err != nil {
		return nil // the API server would not have started with it
	}
	if h.err != nil {
		return []report.Finding{unreadable(overlay, h, report.AuditWeakened, report.High)}
	}
	if len(b.p.Rules) > maxRules || len(h.p.Rules) > maxRules {
		return []report.Finding{tooLarge(overlay, h, report.AuditWeakened)}
	}
	ps := newProbeSet(b.p, h.p)
	var out []report.Finding
	if ps.capped {
		out = append(out, tooLarge(overlay, h, report.AuditWeakened))
	}
	for _, w := range WatchedRequests {
		var verbs, nss, names []string
		var lost []loss // one per probe, in probe order
		ps.each(w, func(pb probe, r rbac.Request) bool {
			hd := h.p.Evaluate(pb.user, r)
			if !b.p.Evaluate(pb.user, r).Logged() || hd.Logged() {
				return true
			}
			if !slices.ContainsFunc(lost, func(l loss) bool { return l.who == pb.who }) {
				lost = append(lost, loss{pb.who, hd.Rule})
			}
			for _, x := range []struct {
				list *[]string
				v    string
			}{{&verbs, r.Verb}, {&nss, r.Namespace}, {&names, r.Name}} {
				if !slices.Contains(*x.list, x.v) {
					*x.list = append(*x.list, x.v)
				}
			}
			return true
		})
		if len(lost) == 0 {
			continue
		}
		rule := lost[0].rule
		id := w.Name()
		w.Verbs = verbs
		msg := fmt.Sprintf("%s: %s%s is no longer logged for %s", h.cfg.Desc, w.Name(), placeOf(nss, names), whoLost(lost, len(ps.probes), h.p))
		f := policyFinding(overlay, report.AuditWeakened, report.High, h, w, rule, msg)
		f.ID, f.Cause = report.ID(f.Kind, overlay, h.cfg.ID, id), h.cfg.ID+"|"+id
		out = append(out, f)
	}
	return out
}

// loss is a probe whose request the head policy stops logging, and the
// rule that decides it there (-1: none matches).
type loss struct {
	who  string
	rule int
}

// whoLost reads the losses grouped by the deciding rule: "group
// system:nodes (rules[0]: level None), everyone else (rules[3] omits the
// ResponseComplete stage)".
func whoLost(lost []loss, probes int, p *Policy) string {
	var rules []int
	for _, l := range lost {
		if !slices.Contains(rules, l.rule) {
			rules = append(rules, l.rule)
		}
	}
	var parts []string
	var rest string // the generic probes' part, said last
	for _, rule := range rules {
		var who []string
		for _, l := range lost {
			if l.rule == rule {
				who = append(who, l.who)
			}
		}
		text := strings.Join(who, ", ") + " (" + p.decides(rule) + ")"
		// The generic probes stand for everyone no rule names.
		if slices.Contains(who, "any other user") && slices.Contains(who, "any other service account") {
			rest = "everyone else (" + p.decides(rule) + ")"
			if len(who) == probes {
				rest = "everyone (" + p.decides(rule) + ")"
			}
			continue
		}
		parts = append(parts, text)
	}
	if rest != "" {
		parts = append(parts, rest)
	}
	return strings.Join(parts, "; ")
}

// decides says why rule i does not log a request.
func (p *Policy) decides(i int) string {
	switch {
	case i < 0:
		return "no rule matches, so the level is None"
	case p.Rules[i].Level == LevelNone:
		return fmt.Sprintf("rules[%d]: level None", i)
	}
	return fmt.Sprintf("rules[%d] omits the ResponseComplete stage", i)
}

// placeOf names the namespaces and objects the loss is limited to, when
// it is: not when it reaches one no rule names.
func placeOf(nss, names []string) string {
	var parts []string
	if !slices.Contains(names, otherName) && !slices.Contains(names, "") {
		parts = append(parts, "named "+strings.Join(names, ", "))
	}
	if !slices.Contains(nss, otherNamespace) && !slices.Contains(nss, "") {
		parts = append(parts, "in namespace "+strings.Join(nss, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

var watchedRisk = map[string]string{
	"token":       "who minted or checked a token, and who asked what they may do, can no longer be traced",
	"rbac":        "changes to who may do what can no longer be traced",
	"impersonate": "acting as another identity can no longer be traced",
	"secrets":     "reads of Secrets (tokens, passwords, keys) can no longer be traced",
	"pods":        "commands run inside containers can no longer be traced",
}

func riskOf(w Watched) string {
	switch {
	case w.Verb == "impersonate":
		return watchedRisk["impersonate"]
	case w.APIGroup == rbac.Group:
		return watchedRisk["rbac"]
	case w.Resource == "secrets" || w.Resource == "pods":
		return watchedRisk[w.Resource]
	}
	return watchedRisk["token"]
}

func policyFinding(overlay string, kind report.Kind, sev report.Severity, np namedPolicy, w Watched, rule int, msg string) report.Finding {
	at := np.p.ruleLocation(rule)
	perm := permissionOf(w.Verbs, w.Request)
	return report.Finding{
		ID:         report.ID(kind, overlay, np.cfg.ID, w.Name()),
		Kind:       kind,
		Severity:   sev,
		Overlay:    overlay,
		Permission: &perm,
		Location:   at,
		Via:        []report.Ref{{Kind: "Policy", Namespace: np.cfg.Obj.Namespace, Name: np.cfg.Obj.Name, Path: at.Path, Line: at.Line, Field: fieldOf(rule)}},
		Message:    msg,
		Risk:       riskOf(w),
		Cause:      np.cfg.ID + "|" + w.Name(),
	}
}

func fieldOf(rule int) string {
	if rule < 0 {
		return "rules"
	}
	return fmt.Sprintf("rules[%d]", rule)
}

func unreadable(overlay string, np namedPolicy, kind report.Kind, sev report.Severity) report.Finding {
	l := np.cfg.Obj.Origin
	return report.Finding{
		ID: report.ID(kind, overlay, np.cfg.ID, "unreadable"), Kind: kind, Severity: sev, Overlay: overlay,
		Location: report.Location{Path: l.Path, Line: l.Line},
		Message:  fmt.Sprintf("%s cannot be read (%v): kube-apiserver refuses to start with it, so what it logs is unknown; fix the field named", np.cfg.Desc, np.err),
		Cause:    np.cfg.ID + "|unreadable",
	}
}

// tooLarge says that not every user, group, namespace or name a policy
// mentions was asked about: what it does to those is not checked.
func tooLarge(overlay string, np namedPolicy, kind report.Kind) report.Finding {
	l := np.cfg.Obj.Origin
	return report.Finding{
		ID: report.ID(kind, overlay, np.cfg.ID, "too-large"), Kind: kind, Severity: report.Medium, Overlay: overlay,
		Location: report.Location{Path: l.Path, Line: l.Line},
		Message: fmt.Sprintf("%s has more than %d rules, or names more than %d users and groups, %d namespaces or %d object names: only the first were checked (none past %d rules), so what it logs for the others is not",
			np.cfg.Desc, maxRules, maxProbes, maxNamespaces, maxProbedNames, maxRules),
		Cause: np.cfg.ID + "|too-large",
	}
}

func policyRemoved(overlay string, np namedPolicy) report.Finding {
	l := np.cfg.Obj.Origin
	return report.Finding{
		ID: report.ID(report.AuditWeakened, overlay, np.cfg.ID, "removed"), Kind: report.AuditWeakened, Severity: report.Medium, Overlay: overlay,
		Location: report.Location{Path: l.Path, Line: l.Line},
		Message:  np.cfg.Desc + " is removed: what the cluster logs is no longer in the tree to be checked",
		Risk:     "token use and RBAC changes may no longer be logged",
		Cause:    np.cfg.ID + "|removed",
	}
}

// servers are the kube-apiserver command lines of a tree: static pods,
// kubeadm, kind, k3s and RKE2 configurations.
func servers(objs []*manifest.Object, defaultNS string) []token.APIServer {
	out := append(token.APIServers(objs, defaultNS), token.KindAPIServers(objs)...)
	return append(out, token.K3sAPIServers(objs)...)
}

// notAuditing says why a kube-apiserver writes no audit events: no
// policy (auditing is off without one), or no backend to write to.
func notAuditing(a token.APIServer) string {
	if v, _, _ := a.Flag("audit-policy-file"); v == "" {
		return "no --audit-policy-file, and without a policy kube-apiserver logs no request"
	}
	lp, _, _ := a.Flag("audit-log-path")
	wh, _, _ := a.Flag("audit-webhook-config-file")
	if lp == "" && wh == "" {
		return "neither --audit-log-path nor --audit-webhook-config-file, so events go nowhere"
	}
	return ""
}

func compareFlags(overlay string, b, h token.APIServer) []report.Finding {
	if notAuditing(b) != "" {
		return nil
	}
	why := notAuditing(h)
	if why == "" {
		return nil
	}
	at := h.At
	for _, f := range []string{"audit-policy-file", "audit-log-path", "audit-webhook-config-file"} {
		if _, l, ok := h.Flag(f); ok {
			at = l // set to empty: point at it
			break
		}
	}
	return []report.Finding{flagFinding(overlay, report.AuditWeakened, report.High, h, at, "off", h.Desc+" stops auditing: "+why)}
}

func flagFinding(overlay string, kind report.Kind, sev report.Severity, a token.APIServer, at report.Location, key, msg string) report.Finding {
	return report.Finding{
		ID: report.ID(kind, overlay, a.ID, key), Kind: kind, Severity: sev, Overlay: overlay,
		Location: at,
		Message:  msg,
		Risk:     "no token use, RBAC decision or RBAC change of the cluster is logged",
		Cause:    a.ID + "|" + key,
	}
}
