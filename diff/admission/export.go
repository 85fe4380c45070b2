package admission

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Labels and annotations rbacguard puts on what it exports; drift finds
// the cluster's copies by the label.
const (
	ManagedByLabel     = "app.kubernetes.io/managed-by"
	ManagedBy          = "rbacguard"
	CheckAnnotation    = "rbacguard.io/check"
	SeverityAnnotation = "rbacguard.io/severity"
	// ExemptionsAnnotation lists the policy exemptions a policy carries,
	// with their expiry: a reviewer reads when to export again.
	ExemptionsAnnotation = "rbacguard.io/exemptions"
	namePrefix           = "rbacguard-"
)

// Set is what Export writes: the policies, one binding per policy, and
// notes on what the policy file says that admission cannot (for stderr).
type Set struct {
	Policies []admissionv1.ValidatingAdmissionPolicy
	Bindings []admissionv1.ValidatingAdmissionPolicyBinding
	Notes    []string
}

// Export writes the policy file's single-object checks as
// ValidatingAdmissionPolicies: each check at the severity the policy's
// rules give it, Deny at or above the gate (failOn) and Warn plus Audit
// below, with the exemptions and allow entries in force at now as
// matchConditions or the binding's namespaceSelector. An expired
// exemption is left out. p nil is the default policy.
func Export(p *policy.Policy, now time.Time) *Set {
	if p == nil {
		p = policy.Default()
	}
	s := &Set{}
	ex := exemptionsOf(p, now, &s.Notes)
	s.Notes = append(s.Notes, severityNotes(p)...)
	for _, c := range catalog() {
		if c.classes != nil {
			s.addRuleCheck(p, c, ex, now)
			continue
		}
		f := c.class.finding
		sev, dropped := judge(p, f, ex, now)
		if dropped {
			continue
		}
		s.add(p, c, c.name, sev, ex, []admissionv1.Validation{{
			Expression:        c.expression,
			MessageExpression: c.message + ` + " (rbacguard: ` + string(sev) + `)"`,
			Message:           fmt.Sprintf("%s: %s (rbacguard: %s)", c.class.what, c.class.why, sev),
			Reason:            ptr(metav1.StatusReasonForbidden),
		}}, c.variables)
	}
	return s
}

// addRuleCheck splits a rule check by the severity each of its classes
// ends up with: one policy per severity, each denying (or warning about)
// the rules whose first class is one of its own.
func (s *Set) addRuleCheck(p *policy.Policy, c check, ex []exemption, now time.Time) {
	bySev := map[report.Severity][]int{}
	msgs := make([]string, len(c.classes))
	for i, cl := range c.classes {
		msgs[i] = cl.what + ": " + cl.why
		sev, dropped := judge(p, cl.finding, ex, now)
		if !dropped {
			bySev[sev] = append(bySev[sev], i)
		}
	}
	vars := []admissionv1.Variable{{Name: "classes", Expression: c.classifyCEL()}}
	for _, sev := range report.Severities {
		ids := bySev[sev]
		if len(ids) == 0 {
			continue
		}
		in := make([]string, len(ids))
		for i, id := range ids {
			in[i] = fmt.Sprint(id)
		}
		inList := "[" + strings.Join(in, ", ") + "]"
		s.add(p, c, c.name+"-"+string(sev), sev, ex, []admissionv1.Validation{{
			Expression: `!variables.classes.exists(c, c in ` + inList + `)`,
			MessageExpression: objectName + ` + " grants " + ` + list(msgs) + `[variables.classes.filter(c, c in ` + inList + `)[0]] + " (rbacguard: ` +
				string(sev) + `)"`,
			Message: fmt.Sprintf("a rule with a wildcard, escalate, bind or impersonate reaches a class of severity %s (rbacguard: %s)", sev, sev),
			Reason:  ptr(metav1.StatusReasonForbidden),
		}}, vars)
	}
}

// judge returns the severity the policy's rules give f, and whether an
// exemption in force drops the check altogether (one that names no
// object, only the finding's kind or permission).
func judge(p *policy.Policy, f report.Finding, ex []exemption, now time.Time) (report.Severity, bool) {
	r := &report.Report{Findings: []report.Finding{f}}
	(&policy.Policy{Path: p.Path, Severities: p.Severities}).Apply(r, now)
	sev := r.Findings[0].Severity
	for _, e := range ex {
		if e.objectFree() && e.findingMatches(f) {
			return sev, true
		}
	}
	return sev, false
}

func (s *Set) add(p *policy.Policy, c check, name string, sev report.Severity, ex []exemption, vs []admissionv1.Validation, vars []admissionv1.Variable) {
	name = namePrefix + name
	actions := []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}
	if p.FailOn != report.None && sev.AtLeast(p.FailOn) {
		actions = []admissionv1.ValidationAction{admissionv1.Deny}
	}
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Labels: map[string]string{ManagedByLabel: ManagedBy},
			Annotations: map[string]string{CheckAnnotation: c.name, SeverityAnnotation: string(sev)}}
	}
	vap := admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: meta(),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: c.rules},
			Variables:        vars,
			Validations:      vs,
		},
	}
	bind := admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: meta(),
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: actions},
	}
	var used []string
	var skipNamespaces []string
	for _, e := range ex {
		if e.objectFree() || !e.appliesTo(c) {
			continue
		}
		if ns, ok := e.namespaceOnly(); ok && c.sameNamespace {
			skipNamespaces = append(skipNamespaces, ns)
			used = append(used, e.String())
			continue
		}
		cond, ok := e.cel(c)
		if !ok {
			continue
		}
		vap.Spec.MatchConditions = append(vap.Spec.MatchConditions, admissionv1.MatchCondition{Name: e.conditionName(), Expression: "!" + cond})
		used = append(used, e.String())
	}
	if len(skipNamespaces) > 0 {
		slices.Sort(skipNamespaces)
		bind.Spec.MatchResources = &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
				Values: slices.Compact(skipNamespaces)}},
		}}
	}
	if len(used) > 0 {
		vap.Annotations[ExemptionsAnnotation] = strings.Join(used, "; ")
	}
	s.Policies = append(s.Policies, vap)
	s.Bindings = append(s.Bindings, bind)
}

func ptr[T any](v T) *T { return &v }

// Checks counts the validations Export writes per object kind, for the
// README and the closing note: a rule check counts once per severity
// class it can report.
func Checks() map[string]int {
	out := map[string]int{}
	for _, c := range catalog() {
		n := 1
		if c.classes != nil {
			n = len(c.classes)
		}
		for _, t := range c.targets {
			out[t] += n
		}
	}
	return out
}

// sortedKinds is Checks' keys in order, for printing.
func sortedKinds(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(a, b) })
	return keys
}
