package policy

import (
	"fmt"
	"time"

	"github.com/rbacguard/rbacguard/diff/glob"
	"github.com/rbacguard/rbacguard/diff/report"
)

// AllowedReason is the exemption reason of an allow entry without its own.
const AllowedReason = "allowed subject"

// Apply runs the policy over a report, once:
//  1. severity rules: the first rule that matches sets the severity;
//  2. exemptions, then allow entries: the first that matches marks the
//     finding with its reason, expiry and source (path:line). A finding that
//     already carries an exemption keeps it;
//  3. every exemption expired at now applies to nothing and is reported as
//     a policy.expired-exemption finding (medium) at its line; severity
//     rules apply to those findings too, exemptions do not.
//
// Apply does not call Finish: the caller calls r.Finish(p.FailOn) after it.
func (p *Policy) Apply(r *report.Report, now time.Time) {
	for i := range r.Findings {
		f := &r.Findings[i]
		p.setSeverity(f)
		if f.Exemption == nil {
			f.Exemption = p.exemptionFor(f, now)
		}
	}
	for _, e := range p.Exemptions {
		if !e.Expired(now) {
			continue
		}
		would := 0
		for i := range r.Findings {
			if e.matches(&r.Findings[i]) {
				would++
			}
		}
		f := report.Finding{
			ID:       report.ID(report.PolicyExpired, "", p.Path, e.key(), e.Expires),
			Kind:     report.PolicyExpired,
			Severity: report.Medium,
			Location: report.Location{Path: p.Path, Line: e.Line},
			Message: fmt.Sprintf("exemption expired on %s and no longer applies (%s); reason was: %s",
				e.Expires, plural(would, "matching finding"), e.Reason),
			Risk: "the findings it covered count against the gate again: renew it with a new expires date after review, or remove it",
		}
		p.setSeverity(&f)
		r.Findings = append(r.Findings, f)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (p *Policy) setSeverity(f *report.Finding) {
	for _, r := range p.Severities {
		if matches(f, r.Kind, r.Overlay, r.Subject, r.Permission, r.Workload) {
			f.Severity = r.Severity
			return
		}
	}
}

func (p *Policy) exemptionFor(f *report.Finding, now time.Time) *report.Exemption {
	for _, e := range p.Exemptions {
		if !e.Expired(now) && e.matches(f) {
			return &report.Exemption{Reason: e.Reason, Expires: e.Expires, Source: p.source(e.Line)}
		}
	}
	for _, a := range p.Allow {
		if a.SubjectPattern.match(f.Subject) {
			reason := a.Reason
			if reason == "" {
				reason = AllowedReason
			}
			return &report.Exemption{Reason: reason, Source: p.source(a.Line)}
		}
	}
	return nil
}

func (p *Policy) source(line int) string { return fmt.Sprintf("%s:%d", p.Path, line) }

func (e *Exemption) matches(f *report.Finding) bool {
	return matches(f, e.Kind, e.Overlay, e.Subject, e.Permission, e.Workload)
}

// OverlaySelected reports whether the overlay at path (relative to the
// repository root) is checked: it matches an include glob (or there are
// none) and no exclude glob.
func (p *Policy) OverlaySelected(overlay string) bool {
	return glob.Select(p.Overlays.Include, p.Overlays.Exclude, overlay)
}
