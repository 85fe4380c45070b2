package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// ErrNoFixedPoint means the aggregation rules form a cycle whose rules never
// settle: the controller would rewrite the roles forever.
var ErrNoFixedPoint = errors.New("cluster role aggregation does not reach a fixed point")

// Aggregate returns a copy of roles in which every ClusterRole with an
// aggregationRule has the rules the clusterrole aggregation controller
// (k8s.io/kubernetes/pkg/controller/clusterroleaggregation) would give it.
//
// The controller's sync is unexported, so this mirrors syncClusterRole line
// for line: for each selector in order, list the matching ClusterRoles, sort
// them by name, skip the role itself, and append each rule not already
// present (equality.Semantic.DeepEqual); the result overwrites whatever rules
// the role had. The controller re-enqueues every aggregated role whenever
// any ClusterRole changes, so the state it settles in is the fixed point of
// that sync over all roles, which is what the loop below computes.
func Aggregate(roles []rbacv1.ClusterRole) ([]rbacv1.ClusterRole, error) {
	out := make([]rbacv1.ClusterRole, len(roles))
	for i := range roles {
		roles[i].DeepCopyInto(&out[i])
	}
	// The lister lists in no particular order; the controller sorts by name.
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(out[a].Name, out[b].Name) })

	selectors := make(map[int][]labels.Selector)
	for _, i := range order {
		if out[i].AggregationRule == nil {
			continue
		}
		for j := range out[i].AggregationRule.ClusterRoleSelectors {
			sel, err := metav1.LabelSelectorAsSelector(&out[i].AggregationRule.ClusterRoleSelectors[j])
			if err != nil {
				return nil, fmt.Errorf("aggregate cluster role %s: selector %d: %w", out[i].Name, j, err)
			}
			selectors[i] = append(selectors[i], sel)
		}
	}

	// Each round can only carry rules one aggregation edge further, so an
	// acyclic graph settles within len(out)+1 rounds.
	for round := 0; round <= len(out)+1; round++ {
		changed := false
		for _, i := range order {
			if out[i].AggregationRule == nil {
				continue
			}
			newRules := []rbacv1.PolicyRule{}
			for _, sel := range selectors[i] {
				for _, k := range order {
					if !sel.Matches(labels.Set(out[k].Labels)) {
						continue
					}
					if out[k].Name == out[i].Name {
						continue
					}
					for _, r := range out[k].Rules {
						if !ruleExists(newRules, r) {
							newRules = append(newRules, r)
						}
					}
				}
			}
			if equality.Semantic.DeepEqual(newRules, out[i].Rules) {
				continue
			}
			out[i].Rules = newRules
			changed = true
		}
		if !changed {
			return out, nil
		}
	}
	return nil, ErrNoFixedPoint
}

func ruleExists(haystack []rbacv1.PolicyRule, needle rbacv1.PolicyRule) bool {
	for _, curr := range haystack {
		if equality.Semantic.DeepEqual(curr, needle) {
			return true
		}
	}
	return false
}
