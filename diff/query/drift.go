package query

import (
	"fmt"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Drift compares what a live cluster grants (the overlays of its export)
// with what the repository grants (the overlays meant for that cluster),
// subject by subject and scope by scope, with the diff's own coverage
// test:
//
//	kind               what                                              default severity
//	drift.out-of-band  the cluster grants it, the repository does not    high (critical where the permission is critical)
//	drift.not-applied  the repository grants it, the cluster does not    info
//
// An out-of-band grant means somebody applied RBAC by hand (or another
// tool did); a grant not yet applied is usually a deployment in flight.
// Other problems of the export (unreadable objects, roleRefs the export
// does not define) are kept at their own kinds. An overlay that did not
// render on either side is a render.error at high: drift cannot be
// judged without it. overlay labels the findings (the repository
// overlays compared).
func Drift(cluster, repo []Overlay, overlay string, o Options) []report.Finding {
	var out []report.Finding
	objects := func(ovs []Overlay, side string) []*manifest.Object {
		var objs []*manifest.Object
		for _, ov := range ovs {
			if ov.Err != nil {
				out = append(out, report.Finding{
					ID: report.ID(report.RenderError, overlay, side, ov.Path), Kind: report.RenderError, Severity: report.High,
					Overlay: overlay, Location: report.Location{Path: ov.Path},
					Message: fmt.Sprintf("%s overlay %s cannot be rendered: %v", side, ov.Path, ov.Err),
					Risk:    "drift cannot be judged without what this overlay grants",
				})
				continue
			}
			objs = append(objs, ov.Objects...)
		}
		return objs
	}
	clusterObjs, repoObjs := objects(cluster, "cluster"), objects(repo, "repository")
	ws := newWorkloads(append(clusterObjs[:len(clusterObjs):len(clusterObjs)], repoObjs...), o)
	findings := rbac.Compare(overlay, o.graph(repoObjs), o.graph(clusterObjs))
	for _, f := range findings {
		if f.Permission != nil && f.Subject != nil {
			who := f.Subject.String()
			if f.Subject.Kind == "ClusterRole" {
				who = "everyone bound to ClusterRole " + f.Subject.Name
			}
			switch f.Kind {
			case report.RBACIncrease:
				f.Kind = report.DriftOutOfBand
				if f.Severity != report.Critical {
					f.Severity = report.High
				}
				f.Message = fmt.Sprintf("%s can %s %s in the cluster, but the repository does not grant it", who, f.Permission, f.Scope)
				f.Risk = strings.TrimSuffix("granted out of band (applied by hand or by another tool): remove it from the cluster, or add it to the repository so it is reviewed; "+f.Risk, "; ")
				f.Workloads = ws.of(*f.Subject)
			case report.RBACDecrease:
				f.Kind = report.DriftNotApplied
				f.Severity = report.Info
				f.Message = fmt.Sprintf("the repository grants %s %s %s, but the cluster does not (not yet applied)", who, f.Permission, f.Scope)
				f.Risk = "the cluster is behind the repository: apply it, or find out why the apply failed"
			}
			if f.Kind == report.DriftOutOfBand || f.Kind == report.DriftNotApplied {
				f.ID = report.ID(f.Kind, overlay, *f.Subject, *f.Scope, f.Permission.Key())
			}
		}
		out = append(out, f)
	}
	return summarizeBuiltinRoles(out)
}

// summarizeBuiltinRoles folds the drift findings of one binding to a
// built-in role (edit, view, cluster-admin: dozens of rules, Kubernetes'
// own and well known) into one, at the severity of the worst permission,
// as a scan does: "bound to view" says more than sixty atoms.
func summarizeBuiltinRoles(fs []report.Finding) []report.Finding {
	type key struct {
		kind    report.Kind
		subject report.Subject
		scope   report.Scope
		binding report.Ref
	}
	type sum struct {
		at    int
		n     int
		worst []string
	}
	sums := map[key]*sum{}
	var out []report.Finding
	for _, f := range fs {
		if (f.Kind != report.DriftOutOfBand && f.Kind != report.DriftNotApplied) || len(f.Via) != 2 || f.Via[1].Path != "" {
			out = append(out, f)
			continue
		}
		k := key{f.Kind, *f.Subject, *f.Scope, f.Via[0]}
		s := sums[k]
		if s == nil {
			s = &sum{at: len(out)}
			sums[k] = s
			out = append(out, f)
		}
		top := &out[s.at]
		s.n++
		switch {
		case s.n == 1 || f.Severity.Rank() > top.Severity.Rank():
			*top = f
			s.worst = []string{f.Permission.String()}
		case f.Severity == top.Severity && len(s.worst) < 4:
			s.worst = append(s.worst, f.Permission.String())
		}
		if s.n > 1 {
			role := f.Via[1]
			where := "in the cluster, but the repository does not bind it"
			if f.Kind == report.DriftNotApplied {
				where = "in the repository, but the cluster does not bind it (not yet applied)"
			}
			top.Message = fmt.Sprintf("%s is bound to the built-in %s %s %s %s: %d permissions, among them %s",
				f.Subject, role.Kind, role.Name, f.Scope, where, s.n, strings.Join(s.worst, "; "))
			top.ID = report.ID(f.Kind, f.Overlay, *f.Subject, *f.Scope, f.Via[0].Kind, f.Via[0].Namespace, f.Via[0].Name, role.Name)
		}
	}
	return out
}
