package admission

import (
	"fmt"
	"time"

	"github.com/rbacguard/rbacguard/diff/glob"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/report"
)

// exemption is a policy exemption or allow entry in force, as admission
// reads it: its kind and permission patterns select the checks it covers;
// its subject and workload patterns select objects.
type exemption struct {
	policy.Exemption
	allow bool
	path  string
}

// exemptionsOf returns the exemptions and allow entries in force at now.
// An expired exemption is not exported; one that names an overlay cannot
// be (admission does not know overlays), so admission is stricter there:
// both are noted.
func exemptionsOf(p *policy.Policy, now time.Time, notes *[]string) []exemption {
	var out []exemption
	for _, e := range p.Exemptions {
		switch {
		case e.Expired(now):
			*notes = append(*notes, fmt.Sprintf("%s:%d: exemption expired on %s: not exported", p.Path, e.Line, e.Expires))
		case e.Overlay != "":
			*notes = append(*notes, fmt.Sprintf("%s:%d: exemption names an overlay, which admission cannot see: not exported, so the cluster denies what it exempts", p.Path, e.Line))
		default:
			out = append(out, exemption{Exemption: e, path: p.Path})
		}
	}
	for _, a := range p.Allow {
		s := a.SubjectPattern
		out = append(out, exemption{Exemption: policy.Exemption{Subject: &s, Reason: a.Reason, Line: a.Line}, allow: true, path: p.Path})
	}
	return out
}

// severityNotes says which severity rules admission cannot apply: those
// that select by overlay, subject or workload (a check's severity is one
// for every object).
func severityNotes(p *policy.Policy) []string {
	var out []string
	for _, r := range p.Severities {
		if r.Overlay != "" || r.Subject != nil || r.Workload != nil {
			out = append(out, fmt.Sprintf("%s:%d: severity rule selects by overlay, subject or workload: admission keeps the check's own severity", p.Path, r.Line))
		}
	}
	return out
}

// objectFree: the exemption names no object, only kinds and permissions,
// so it drops the checks it covers altogether.
func (e exemption) objectFree() bool { return e.Subject == nil && e.Workload == nil }

// findingMatches applies the exemption's kind and permission patterns to
// a check's finding, with the policy's own matcher.
func (e exemption) findingMatches(f report.Finding) bool {
	if e.Kind == "" && e.Permission == nil {
		return true
	}
	only := policy.Exemption{Kind: e.Kind, Permission: e.Permission, Reason: "admission"}
	r := &report.Report{Findings: []report.Finding{f}}
	(&policy.Policy{Exemptions: []policy.Exemption{only}}).Apply(r, time.Time{})
	return r.Findings[0].Exemption != nil
}

// appliesTo: the exemption selects objects the check judges. A Role or
// ClusterRole has no subject and runs no workload, so only object-free
// exemptions reach rule checks (through judge).
func (e exemption) appliesTo(c check) bool {
	if c.classes != nil || !e.findingMatches(c.class.finding) {
		return false
	}
	return (e.Subject == nil || c.subject != nil) && (e.Workload == nil || c.workload != nil)
}

// cel is the exemption's object patterns as a CEL condition on the object.
func (e exemption) cel(c check) (string, bool) {
	var conds []string
	if e.Subject != nil {
		if c.subject == nil {
			return "", false
		}
		conds = append(conds, c.subject(*e.Subject))
	}
	if e.Workload != nil {
		if c.workload == nil {
			return "", false
		}
		conds = append(conds, c.workload(*e.Workload))
	}
	return and(conds...), true
}

// namespaceOnly: the exemption names one namespace and nothing else of
// the object, so for a check whose subjects and workloads are in the
// object's namespace it is a namespaceSelector.
func (e exemption) namespaceOnly() (string, bool) {
	unset := func(s string) bool { return s == "" || s == "*" }
	switch {
	case e.Subject != nil && e.Workload == nil:
		s := e.Subject
		if unset(s.Name) && (s.Kind == "" || glob.Name(s.Kind, "ServiceAccount")) && literal(s.Namespace) {
			return s.Namespace, true
		}
	case e.Workload != nil && e.Subject == nil:
		w := e.Workload
		if unset(w.Name) && unset(w.Kind) && literal(w.Namespace) {
			return w.Namespace, true
		}
	}
	return "", false
}

func literal(s string) bool {
	for _, r := range s {
		if r == '*' || r == '?' {
			return false
		}
	}
	return s != ""
}

func (e exemption) conditionName() string {
	if e.allow {
		return fmt.Sprintf("rbacguard-allow-line-%d", e.Line)
	}
	return fmt.Sprintf("rbacguard-exemption-line-%d", e.Line)
}

// String names the exemption for the policy's annotation: where it is,
// why, and until when.
func (e exemption) String() string {
	what := "exemption"
	if e.allow {
		what = "allow"
	}
	s := fmt.Sprintf("%s %s:%d", what, e.path, e.Line)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	if e.Expires != "" {
		s += " until " + e.Expires
	}
	return s
}
