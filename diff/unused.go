package diff

import (
	"cmp"
	"context"
	"fmt"
	"os"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/audit"
	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// UnusedResult is what `rbacguard unused` found: per overlay, the grants
// no logged request used, the suggested roles, the denied requests.
type UnusedResult struct {
	Tally    audit.Tally
	Overlays []*audit.Usage
	Failed   []report.Overlay // overlays that did not render: no answer for them
}

// ReadAuditLogs streams each log file (plain or gzip) into the usages.
func ReadAuditLogs(files []string, usages []*audit.Usage, t *audit.Tally) error {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		err = audit.ReadLog(name, f, audit.DefaultLimits(), func(e *audit.Event) error {
			t.Observe(e, usages)
			return nil
		})
		f.Close()
		if err != nil {
			return fmt.Errorf("audit log %w", err)
		}
	}
	if t.Requests == 0 {
		return fmt.Errorf("audit logs %v hold no completed request (no ResponseComplete event): check that the policy does not omit that stage", files)
	}
	return nil
}

// Unused renders every overlay of t and compares its grants with the
// requests of the audit logs.
func Unused(ctx context.Context, t source.Tree, logs []string, o Options) (*UnusedResult, error) {
	res := &UnusedResult{}
	err := Overlays(ctx, t, o, func(ov query.Overlay, qo query.Options) {
		if ov.Err != nil {
			res.Failed = append(res.Failed, report.Overlay{Path: ov.Path, Status: report.OverlayFailed, Error: ov.Err.Error()})
			return
		}
		g := rbac.Build(rbac.WithoutBootstrap(ov.Objects), rbac.Options{DefaultNamespace: cmp.Or(qo.DefaultNamespace, "default"), ExternalRoles: qo.ExternalRoles})
		res.Overlays = append(res.Overlays, audit.NewUsage(ov.Path, g))
	})
	if err != nil {
		return nil, err
	}
	if err := ReadAuditLogs(logs, res.Overlays, &res.Tally); err != nil {
		return nil, err
	}
	return res, nil
}

// auditEvidence reads the audit logs of a diff, if any, and returns what
// adds their evidence to the finished report (AddEvidence), nil without
// logs.
func auditEvidence(logs []string) (func(*report.Report), error) {
	if len(logs) == 0 {
		return nil, nil
	}
	asked := audit.NewUsage("", nil)
	var t audit.Tally
	if err := ReadAuditLogs(logs, []*audit.Usage{asked}, &t); err != nil {
		return nil, err
	}
	return func(r *report.Report) { AddEvidence(r, asked, t.Window) }, nil
}

// AddEvidence says, on each rbac.increase of a service account or user,
// whether the audit log shows it ever asked for the permission: evidence
// for the reviewer, not a change of severity.
func AddEvidence(r *report.Report, asked *audit.Usage, w audit.Window) {
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Kind != report.RBACIncrease || f.Subject == nil || f.Permission == nil || f.Scope == nil ||
			f.Subject.Kind != "ServiceAccount" && f.Subject.Kind != "User" {
			continue
		}
		// A finding of one rule stands for all its permissions.
		perms := f.Permissions
		if len(perms) == 0 {
			perms = []report.Permission{*f.Permission}
		}
		n := 0
		for _, p := range perms {
			n += asked.Asked(*f.Subject, rbacRule(p), f.Scope.Namespace)
		}
		f.Usage = w.Evidence(n)
		if n == 0 {
			f.Message += fmt.Sprintf(" (never requested in the %d days of the audit log)", w.Days())
		} else {
			f.Message += fmt.Sprintf(" (requested %d times in the %d days of the audit log)", n, w.Days())
		}
	}
}

func rbacRule(p report.Permission) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: p.Verbs, APIGroups: p.APIGroups, Resources: p.Resources, ResourceNames: p.ResourceNames, NonResourceURLs: p.NonResourceURLs}
}
