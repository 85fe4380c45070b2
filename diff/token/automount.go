package token

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/workload"
)

// pairWorkloads finds, for each head workload, its base self: the one with
// the same kind, namespace and name, or else a removed base workload of the
// same kind and namespace that runs as the same account with the same
// token settings (a rename, which changes nothing about exposure).
func pairWorkloads(bs, hs *snapshot) []*workload.Workload {
	keys := func(s *snapshot) (exact, loose []string) {
		for _, w := range s.workloads {
			exact = append(exact, w.Kind+"|"+w.Namespace+"|"+w.Name)
			loose = append(loose, w.Kind+"|"+w.Namespace+"|"+tokenSignature(w, s.accounts))
		}
		return exact, loose
	}
	be, bl := keys(bs)
	he, hl := keys(hs)
	pairs := make([]*workload.Workload, len(hs.workloads))
	for i, j := range pairUp(be, he, bl, hl) {
		if j >= 0 {
			pairs[i] = &bs.workloads[j]
		}
	}
	return pairs
}

// tokenSignature is everything about a workload that token findings read.
func tokenSignature(w workload.Workload, sas map[[2]string]*manifest.Object) string {
	on, _ := workload.Automount(w, sas)
	return fmt.Sprintf("%s|%v|%v", w.ServiceAccount, on, workload.ProjectedTokens(w))
}

// mountHow says why the workload holds a token and where that is written.
func mountHow(w workload.Workload, sas map[[2]string]*manifest.Object) (string, manifest.Location) {
	on, by := workload.Automount(w, sas)
	if !on {
		for _, p := range workload.ProjectedTokens(w) {
			if workload.APIAudience(p.Audience) {
				return fmt.Sprintf("through projected volume %q", p.Volume), w.LineOf(p.Field...)
			}
		}
	}
	switch by {
	case workload.ByPod:
		return "because its pod sets automountServiceAccountToken: true", w.LineOf("automountServiceAccountToken")
	case workload.ByServiceAccount:
		sa := sas[[2]string{w.Namespace, w.ServiceAccount}]
		return "because its ServiceAccount sets automountServiceAccountToken: true", sa.LineOf("automountServiceAccountToken")
	}
	if sa := sas[[2]string{w.Namespace, w.ServiceAccount}]; sa != nil {
		return "by default (automountServiceAccountToken unset)", sa.Origin
	}
	return "by default (automountServiceAccountToken unset)", accountLine(w)
}

// accountLine is the serviceAccountName line, else the workload's first line.
func accountLine(w workload.Workload) manifest.Location {
	if f := w.ServiceAccountField(); f != "" {
		return w.LineOf(f)
	}
	return w.Object.Origin
}

func (c *checker) automount(bs, hs *snapshot, scan bool) {
	pairs := pairWorkloads(bs, hs)
	grown := map[string]int{} // account → its "grows" finding in c.out
	for i, w := range hs.workloads {
		if !workload.MountsToken(w, hs.accounts) || isStaticControlPlane(w) {
			continue
		}
		sev, _, known := c.risk(w.Namespace, w.ServiceAccount)
		sa := "ServiceAccount " + w.Namespace + "/" + w.ServiceAccount
		can := c.canDo(w.Namespace, w.ServiceAccount)
		how, at := mountHow(w, hs.accounts)
		f := report.Finding{
			Kind:      report.TokenAutomount,
			Subject:   saSubject(w.Namespace, w.ServiceAccount),
			Workloads: wl(w),
			Location:  loc(at),
			Risk:      "anyone who runs code in these pods can call the API server with the account's permissions",
		}
		event := ""
		if scan {
			switch {
			case w.ServiceAccount == "default":
				event, f.Severity = "default", atLeast(sev, report.Low)
				f.Message = fmt.Sprintf("%s runs as the default ServiceAccount of its namespace and holds its token %s; it %s", w, how, can)
				f.Risk = "every pod without its own account shares this token; give the workload its own ServiceAccount or set automountServiceAccountToken: false"
			case known:
				event, f.Severity = "holds", sev
				if !sev.AtLeast(report.High) {
					f.Severity = report.Info
				}
				f.Message = fmt.Sprintf("%s holds a token of %s %s; the account %s", w, sa, how, can)
			default:
				continue
			}
		} else {
			b := pairs[i]
			incSev, added, grows := c.increased(w.Namespace, w.ServiceAccount)
			switch {
			case b == nil:
				event = "new"
				f.Severity = report.Info
				if known {
					f.Severity = atLeast(sev, report.Low)
				}
				f.Message = fmt.Sprintf("new %s holds a token of %s %s; the account %s", w, sa, how, can)
			case !workload.MountsToken(*b, bs.accounts):
				event, f.Severity = "starts", atLeast(sev, report.Low)
				f.Message = fmt.Sprintf("%s now holds a token of %s %s, where it held none before; the account %s", w, sa, how, can)
			case b.ServiceAccount != w.ServiceAccount:
				event, f.Severity = "moves", atLeast(sev, report.Low)
				f.Location = loc(accountLine(w))
				f.Message = fmt.Sprintf("%s moves from ServiceAccount %s to %s and holds its token; the new account %s", w, b.ServiceAccount, w.ServiceAccount, can)
			case grows:
				// One finding per account: every workload that already
				// held its token gains the same increase.
				if j, ok := grown[sa]; ok {
					g := &c.out[j]
					g.Workloads = append(g.Workloads, wl(w)...)
					g.AlsoAt = append(g.AlsoAt, loc(accountLine(w)))
					g.Message = fmt.Sprintf("%s hold a token of %s, whose permissions increase in this change: the account %s", joinWorkloads(g.Workloads), sa, cmp.Or(added, "gains permissions"))
					continue
				}
				event, f.Severity = "grows", atLeast(incSev, report.Low)
				f.Location = loc(accountLine(w))
				f.Message = fmt.Sprintf("%s holds a token of %s, whose permissions increase in this change: the account %s", w, sa, cmp.Or(added, "gains permissions"))
				f.Risk = "the increase reaches every pod of these workloads: code running there gains it too"
				grown[sa] = len(c.out)
			default:
				continue
			}
			if grows && event != "grows" {
				f.Message += "; its permissions also increase in this change"
			}
		}
		f.ID = id(f.Kind, c.overlay, "workload", event, w.Kind, w.Namespace, w.Name)
		c.add(f)
	}
}

// joinWorkloads names workloads for a sentence: "Deployment a/b, Job a/c
// and Job a/d".
func joinWorkloads(ws []report.Workload) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.String()
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// isStaticControlPlane spots a kube-apiserver static pod manifest: the
// kubelet gives static pods no service-account token.
func isStaticControlPlane(w workload.Workload) bool {
	return w.Kind == "Pod" && len(staticPodServers(w)) > 0
}
