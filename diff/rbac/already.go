package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// equivalentVerbs are the verbs that give nothing another verb on the
// same objects does not: patch and update can each bring an object to any
// state the other can, and get returns nothing list does not.
var equivalentVerbs = map[string]string{"patch": "update", "update": "patch", "get": "list"}

// heldAs names the verb of held that already does what atom a grants at
// scope ("update" for a new patch), "" when none does: a subject given
// patch where it could update gains nothing, and its increase is told
// without a severity that would block the change.
func heldAs(held []rbacv1.PolicyRule, a rbacv1.PolicyRule, scope string) string {
	if len(a.Verbs) != 1 || len(a.NonResourceURLs) > 0 {
		return ""
	}
	v, ok := equivalentVerbs[a.Verbs[0]]
	if !ok {
		return ""
	}
	alt := a
	alt.Verbs = []string{v}
	if v == "list" {
		alt.ResourceNames = nil // a named list is no list of everything
	}
	if covers(held, alt, scope) {
		return v
	}
	return ""
}

const ownTokenRisk = "it can mint tokens of itself: no permission it did not hold, but tokens that outlive its pods"

// ownToken reports whether a lets service account s mint tokens of
// itself only: no permission it did not hold, only tokens that outlive
// its pods.
func ownToken(s subject, scope string, a rbacv1.PolicyRule) bool {
	return s.kind == "ServiceAccount" && scope == s.namespace && len(a.Verbs) == 1 && a.Verbs[0] == "create" &&
		len(a.APIGroups) == 1 && a.APIGroups[0] == "" && len(a.Resources) == 1 && a.Resources[0] == "serviceaccounts/token" &&
		len(a.ResourceNames) == 1 && a.ResourceNames[0] == s.name
}
