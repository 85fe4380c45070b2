package checks

import (
	"fmt"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
)

// Drift findings are atomic in the report (one permission each, so that
// exemptions and the JSON keep the detail), but a person acts on a
// binding: "RoleBinding shop/shop-developers is not applied: 62
// permissions" is one kubectl apply, not 62 problems. The outputs for
// people fold a drift finding's members by binding and bound role.

func isDrift(k report.Kind) bool { return k == report.DriftOutOfBand || k == report.DriftNotApplied }

// driftKey merges the drift findings of one subject entry of one binding
// to one role, whatever the permission.
func driftKey(f report.Finding) (string, bool) {
	if !isDrift(f.Kind) || len(f.Via) < 2 || f.Subject == nil || f.Scope == nil || f.Exemption != nil {
		return "", false
	}
	b, ro := f.Via[0], f.Via[1]
	return fmt.Sprintf("drift\x00%s\x00%s\x00%s\x00%v\x00%+v\x00%s/%s/%s", f.Overlay, f.Kind, subjectKey(f.Subject), *f.Scope, b, ro.Kind, ro.Namespace, ro.Name), true
}

// foldDrift points a folded drift item at the binding: the chain ends at
// the role, not at one of its rules, and the location is the binding's.
func foldDrift(it *item) {
	if !isDrift(it.Rep.Kind) || len(it.Members) < 2 || len(it.Rep.Via) < 2 {
		return
	}
	b, ro := it.Rep.Via[0], it.Rep.Via[1]
	ro.Field, ro.Line = "", 0
	it.Rep.Via = []report.Ref{b, ro}
	if b.Path != "" {
		it.Rep.Location = report.Location{Path: b.Path, Line: b.Line}
	}
}

// driftMessage reads a folded drift item: "RoleBinding shop/developers
// (subjects[0], Group shop-developers) is not applied: 62 permissions of
// ClusterRole edit in namespace shop, among them get secrets".
func driftMessage(it item) (string, bool) {
	f := it.Rep
	if !isDrift(f.Kind) || len(it.Members) < 2 || len(f.Via) < 2 {
		return "", false
	}
	b, ro := f.Via[0], f.Via[1]
	binding := b.Kind + " " + b.Name
	if b.Namespace != "" {
		binding = b.Kind + " " + b.Namespace + "/" + b.Name
	}
	var worst []string
	for _, m := range it.Members {
		if m.Severity == it.Severity && m.Permission != nil && len(worst) < 3 {
			worst = append(worst, m.Permission.String())
		}
	}
	what := "is not applied"
	if f.Kind == report.DriftOutOfBand {
		what = "is in the cluster but not in the repository"
	}
	return fmt.Sprintf("%s %s (%s): %d permissions of %s %s %s, among them %s",
		binding, what, subjectName(f.Subject), len(it.Members), ro.Kind, roleName(ro), f.Scope, strings.Join(worst, "; ")), true
}

func roleName(r report.Ref) string {
	if r.Namespace != "" {
		return r.Namespace + "/" + r.Name
	}
	return r.Name
}
