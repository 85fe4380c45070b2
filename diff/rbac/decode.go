package rbac

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Reading RBAC objects by hand rather than through the reflective
// unstructured converter is both faster (it is the hot path of a large
// repository) and clearer when a field has the wrong type: the error names
// the field ("rules[1].verbs: want a list of strings, found a string").

type fieldError struct {
	field, want string
	got         any
}

func (e *fieldError) Error() string {
	return fmt.Sprintf("%s: want %s, found %s", e.field, e.want, describe(e.got))
}

func describe(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", t)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case nil:
		return "nothing"
	case bool:
		return fmt.Sprintf("the boolean %v", t)
	}
	return fmt.Sprintf("the number %v", v)
}

func stringList(v any, field string) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, &fieldError{field, "a list of strings", v}
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, &fieldError{fmt.Sprintf("%s[%d]", field, i), "a string", e}
		}
		out = append(out, s)
	}
	return out, nil
}

func str(m map[string]any, key, field string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", &fieldError{field, "a string", v}
	}
	return s, nil
}

func decodeRules(body map[string]any) ([]rbacv1.PolicyRule, error) {
	raw, ok := body["rules"]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, &fieldError{"rules", "a list of rules", raw}
	}
	rules := make([]rbacv1.PolicyRule, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, &fieldError{fmt.Sprintf("rules[%d]", i), "a mapping", e}
		}
		var r rbacv1.PolicyRule
		for _, f := range []struct {
			key string
			dst *[]string
		}{{"verbs", &r.Verbs}, {"apiGroups", &r.APIGroups}, {"resources", &r.Resources}, {"resourceNames", &r.ResourceNames}, {"nonResourceURLs", &r.NonResourceURLs}} {
			s, err := stringList(m[f.key], fmt.Sprintf("rules[%d].%s", i, f.key))
			if err != nil {
				return nil, err
			}
			*f.dst = s
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func decodeAggregation(body map[string]any) (*rbacv1.AggregationRule, error) {
	raw, ok := body["aggregationRule"]
	if !ok || raw == nil {
		return nil, nil
	}
	var ar rbacv1.AggregationRule
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, &fieldError{"aggregationRule", "a mapping", raw}
	}
	// Label selectors are rare and intricate: the converter reads them.
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ar); err != nil {
		return nil, fmt.Errorf("aggregationRule: %w", err)
	}
	return &ar, nil
}

func decodeLabels(body map[string]any) (map[string]string, error) {
	meta, _ := body["metadata"].(map[string]any)
	raw, ok := meta["labels"]
	if !ok || raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, &fieldError{"metadata.labels", "a mapping", raw}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, &fieldError{"metadata.labels[" + k + "]", "a string", v}
		}
		out[k] = s
	}
	return out, nil
}

func decodeBinding(body map[string]any) (rbacv1.RoleRef, []rbacv1.Subject, error) {
	var ref rbacv1.RoleRef
	raw := body["roleRef"]
	m, ok := raw.(map[string]any)
	if !ok {
		return ref, nil, &fieldError{"roleRef", "a mapping with apiGroup, kind and name", raw}
	}
	var err error
	if ref.APIGroup, err = str(m, "apiGroup", "roleRef.apiGroup"); err != nil {
		return ref, nil, err
	}
	if ref.Kind, err = str(m, "kind", "roleRef.kind"); err != nil {
		return ref, nil, err
	}
	if ref.Name, err = str(m, "name", "roleRef.name"); err != nil {
		return ref, nil, err
	}
	rawSubjects, ok := body["subjects"]
	if !ok || rawSubjects == nil {
		return ref, nil, nil
	}
	list, ok := rawSubjects.([]any)
	if !ok {
		return ref, nil, &fieldError{"subjects", "a list of subjects", rawSubjects}
	}
	subjects := make([]rbacv1.Subject, 0, len(list))
	for i, e := range list {
		sm, ok := e.(map[string]any)
		if !ok {
			return ref, nil, &fieldError{fmt.Sprintf("subjects[%d]", i), "a mapping", e}
		}
		var s rbacv1.Subject
		for _, f := range []struct {
			key string
			dst *string
		}{{"kind", &s.Kind}, {"apiGroup", &s.APIGroup}, {"name", &s.Name}, {"namespace", &s.Namespace}} {
			if *f.dst, err = str(sm, f.key, fmt.Sprintf("subjects[%d].%s", i, f.key)); err != nil {
				return ref, nil, err
			}
		}
		subjects = append(subjects, s)
	}
	return ref, subjects, nil
}
