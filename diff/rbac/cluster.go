package rbac

import (
	"reflect"
	"slices"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// WithoutBootstrap leaves out of objs the copies of Kubernetes' own
// bootstrap policy, which a live cluster's export (kubectl get
// clusterroles,… -A -o yaml) holds beside what people applied: an object
// is left out when the engine's embedded bootstrap policy has an object of
// the same kind, namespace and name and the copy grants nothing the
// embedded one does not — a role with no rule the embedded one does not
// cover, no label it lacks and the same aggregationRule (an aggregated
// role's rules are recomputed from its sources anyway); a binding with the
// same roleRef and no subject the embedded one lacks. Build adds the
// embedded object, so leaving the copy out changes no answer; it only
// keeps Kubernetes' own objects from being reported as the tree's content.
//
// A copy that grants more — a subject added by hand to the cluster-admin
// binding, a rule added to a system: role — is kept, so that it is
// checked like any other object: rbacguard never drops a grant it cannot
// account for. (On a cluster newer than the Kubernetes release the
// bootstrap policy was generated from, a few system: roles may carry new
// rules and are then kept too.)
func WithoutBootstrap(objs []*manifest.Object) []*manifest.Object {
	idx := bootstrapIndex()
	var out []*manifest.Object
	for i, obj := range objs {
		if obj.Group() == Group {
			if b := idx[roleKey{obj.Kind, obj.Namespace, obj.Name}]; b != nil && grantsNoMore(obj, b) {
				if out == nil {
					out = append(make([]*manifest.Object, 0, len(objs)), objs[:i]...)
				}
				continue
			}
		}
		if out != nil {
			out = append(out, obj)
		}
	}
	if out == nil {
		return objs
	}
	return out
}

var bootstrapIndex = sync.OnceValue(func() map[roleKey]*manifest.Object {
	m := map[roleKey]*manifest.Object{}
	for _, o := range bootstrap() {
		m[roleKey{o.Kind, o.Namespace, o.Name}] = o
	}
	return m
})

// grantsNoMore reports whether obj, a copy of the bootstrap object b,
// grants nothing b does not.
func grantsNoMore(obj, b *manifest.Object) bool {
	switch obj.Kind {
	case "Role", "ClusterRole":
		labels, err := decodeLabels(obj.Body)
		if err != nil {
			return false
		}
		blabels, _ := decodeLabels(b.Body)
		for k, v := range labels {
			if bv, ok := blabels[k]; !ok || bv != v {
				return false
			}
		}
		agg, err := decodeAggregation(obj.Body)
		if err != nil {
			return false
		}
		bagg, _ := decodeAggregation(b.Body)
		if !reflect.DeepEqual(agg, bagg) {
			return false
		}
		if agg != nil {
			return true // the controller overwrites its rules
		}
		rules, err := decodeRules(obj.Body)
		if err != nil {
			return false
		}
		brules, _ := decodeRules(b.Body)
		ok, _ := validation.Covers(brules, rules)
		return ok
	case "RoleBinding", "ClusterRoleBinding":
		ref, subjects, err := decodeBinding(obj.Body)
		if err != nil {
			return false
		}
		bref, bsubjects, _ := decodeBinding(b.Body)
		if ref.APIGroup == "" {
			ref.APIGroup = Group
		}
		if ref != bref {
			return false
		}
		return !slices.ContainsFunc(subjects, func(s rbacv1.Subject) bool {
			return !slices.ContainsFunc(bsubjects, func(t rbacv1.Subject) bool {
				return s.Kind == t.Kind && s.Name == t.Name && s.Namespace == t.Namespace
			})
		})
	}
	return false
}
