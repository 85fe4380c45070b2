package diff

import (
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/source"
)

// PolicyOf returns the policy a run with o reads from t: o.Policy when
// set, else the policy file at o.PolicyPath in t (the default policy when
// the default path holds none). A pull request's runs read the base
// tree's, a scan's its own tree's.
func PolicyOf(t source.Tree, o Options) (*policy.Policy, error) {
	_, p, err := withPolicy(t, o)
	return p, err
}
