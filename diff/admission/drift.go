package admission

import (
	"encoding/json"
	"fmt"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Drift compares the ValidatingAdmissionPolicies and bindings rbacguard
// manages in a cluster's export (objs; by name prefix or label) with want,
// what the policy file exports today, and reports each that is missing,
// differs or is left over as a drift.admission finding: high when the
// cluster's gate is not the policy's (missing or different), medium for a
// leftover. Only the fields Export writes are compared, so the API
// server's defaults are not drift.
func Drift(objs []*manifest.Object, want *Set) []report.Finding {
	have := map[string]*manifest.Object{}
	for _, o := range objs {
		if (o.Kind == "ValidatingAdmissionPolicy" || o.Kind == "ValidatingAdmissionPolicyBinding") && managed(o) {
			have[o.Kind+"/"+o.Name] = o
		}
	}
	var out []report.Finding
	seen := map[string]bool{}
	check := func(kind, name string, wantPrint string, decode func(*manifest.Object) (string, error)) {
		key := kind + "/" + name
		seen[key] = true
		o := have[key]
		f := report.Finding{Kind: report.DriftAdmission, Severity: report.High, Cause: key,
			Risk: "the cluster's admission gate is not the one the policy file says: run rbacguard export admission and apply it"}
		switch {
		case o == nil:
			f.Message = fmt.Sprintf("%s %s is not in the cluster: the policy file exports it", kind, name)
		default:
			got, err := decode(o)
			if err == nil && got == wantPrint {
				return
			}
			f.Location = report.Location{Path: o.Origin.Path, Line: o.Origin.Line}
			f.Message = fmt.Sprintf("%s %s in the cluster differs from what the policy file exports (checks, actions or exemptions)", kind, name)
		}
		f.ID = report.ID(f.Kind, "", key, f.Message)
		out = append(out, f)
	}
	for i := range want.Policies {
		p, b := &want.Policies[i], &want.Bindings[i]
		check("ValidatingAdmissionPolicy", p.Name, policyPrint(p), func(o *manifest.Object) (string, error) {
			var got admissionv1.ValidatingAdmissionPolicy
			err := convert(o, &got)
			return policyPrint(&got), err
		})
		check("ValidatingAdmissionPolicyBinding", b.Name, bindingPrint(b), func(o *manifest.Object) (string, error) {
			var got admissionv1.ValidatingAdmissionPolicyBinding
			err := convert(o, &got)
			return bindingPrint(&got), err
		})
	}
	keys := make([]string, 0, len(have))
	for k := range have {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if seen[k] {
			continue
		}
		o := have[k]
		f := report.Finding{Kind: report.DriftAdmission, Severity: report.Medium, Cause: k,
			Location: report.Location{Path: o.Origin.Path, Line: o.Origin.Line},
			Message:  fmt.Sprintf("%s %s is in the cluster but the policy file no longer exports it", o.Kind, o.Name),
			Risk:     "a check the policy dropped or renamed still runs in the cluster: delete it, or apply the current export"}
		f.ID = report.ID(f.Kind, "", k, f.Message)
		out = append(out, f)
	}
	return out
}

func managed(o *manifest.Object) bool {
	meta, _ := o.Body["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	return labels[ManagedByLabel] == ManagedBy || len(o.Name) > len(namePrefix) && o.Name[:len(namePrefix)] == namePrefix
}

func convert(o *manifest.Object, into any) error {
	b, err := json.Marshal(o.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// policyPrint is what Export decides of a policy: its rules, variables,
// validations, exemptions and failure policy.
func policyPrint(p *admissionv1.ValidatingAdmissionPolicy) string {
	var rules []admissionv1.RuleWithOperations
	if mc := p.Spec.MatchConstraints; mc != nil {
		for _, r := range mc.ResourceRules {
			rules = append(rules, r.RuleWithOperations)
		}
	}
	b, _ := json.Marshal([]any{rules, p.Spec.Variables, p.Spec.Validations, p.Spec.MatchConditions, p.Spec.FailurePolicy})
	return string(b)
}

func bindingPrint(b *admissionv1.ValidatingAdmissionPolicyBinding) string {
	var ns any
	if mr := b.Spec.MatchResources; mr != nil && mr.NamespaceSelector != nil && len(mr.NamespaceSelector.MatchExpressions)+len(mr.NamespaceSelector.MatchLabels) > 0 {
		ns = mr.NamespaceSelector
	}
	out, _ := json.Marshal([]any{b.Spec.PolicyName, b.Spec.ValidationActions, ns})
	return string(out)
}
