package conformance

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/kubernetes/pkg/registry/rbac/validation"
	rbacauthorizer "k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac"
)

// Oracle is the API server's RBAC authorizer over a static set of objects.
type Oracle struct {
	authz *rbacauthorizer.RBACAuthorizer
}

// NewOracle aggregates p's ClusterRoles (the controller's job, not the
// authorizer's) and serves decisions over the result.
func NewOracle(p Policy) (*Oracle, error) {
	crs := make([]rbacv1.ClusterRole, len(p.ClusterRoles))
	for i, cr := range p.ClusterRoles {
		crs[i] = *cr
	}
	agg, err := Aggregate(crs)
	if err != nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	ptrs := make([]*rbacv1.ClusterRole, len(agg))
	for i := range agg {
		ptrs[i] = &agg[i]
	}
	_, static := validation.NewTestRuleResolver(p.Roles, p.RoleBindings, ptrs, p.ClusterRoleBindings)
	return &Oracle{authz: rbacauthorizer.New(static, static, static, static)}, nil
}

// Allows reports whether the authorizer allows attrs (whose User must be set).
func (o *Oracle) Allows(attrs authorizer.Attributes) bool {
	d, _, _ := o.authz.Authorize(context.Background(), attrs)
	return d == authorizer.DecisionAllow
}

// ServiceAccountUser is the identity a service account token authenticates
// as: its username and the three groups every service account is in.
func ServiceAccountUser(namespace, name string) *user.DefaultInfo {
	return &user.DefaultInfo{
		Name:   serviceaccount.MakeUsername(namespace, name),
		Groups: append(serviceaccount.MakeGroupNames(namespace), user.AllAuthenticated),
	}
}
