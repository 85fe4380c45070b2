package conformance

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	rbacauthorizer "k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac"
)

func ruleSetAllows(rules []rbacv1.PolicyRule, attrs authorizer.Attributes) bool {
	return rbacauthorizer.RulesAllow(attrs, rules...)
}
