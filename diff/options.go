package diff

import (
	"cmp"
	"slices"
	"time"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// Options tune a run.
type Options struct {
	// DefaultNamespace is where objects without a namespace land.
	DefaultNamespace string
	// FailOn is the gate: the verdict fails on a finding at or above it.
	FailOn report.Severity
	// Render tunes rendering (remote bases).
	Render render.Options
	// ExternalRoles resolve roleRefs that live outside the repository.
	ExternalRoles []*manifest.Object
	// PolicyPath is the policy file, read from the base tree in a diff (a
	// pull request must not loosen its own gate) and from the tree in a
	// scan. Empty means .github/rbacguard.yaml, if present.
	PolicyPath string
	// Policy, when set, is used instead of reading PolicyPath from the tree
	// (a policy file the operator names on the command line).
	Policy *policy.Policy
	// Now is the clock for exemption expiry; nil means time.Now.
	Now func() time.Time
	// LegacyTokens is the policy's legacyTokens (policy.LegacyTokens*).
	LegacyTokens string
	// AuditLogs are API server audit logs (local files, never the tree's):
	// each rbac.increase then says whether its subject ever asked for the
	// permission in the log's window (AddEvidence).
	AuditLogs []string
	// ControllerAccounts is the policy's controllerAccounts
	// (policy.ControllerAccounts*).
	ControllerAccounts string
}

// DefaultOptions render with render.DefaultOptions and leave the gate
// threshold and default namespace unset: a run then takes them from the
// policy file, else gates on high and puts namespace-less objects in
// "default" (withPolicy).
func DefaultOptions() Options {
	return Options{Render: render.DefaultOptions()}
}

// withPolicy reads the policy file from t — the base of a diff, so that a
// pull request cannot loosen its own gate — and folds it into o. Values the
// caller set explicitly (flags) win over the policy's.
func withPolicy(t source.Tree, o Options) (Options, *policy.Policy, error) {
	p := o.Policy
	if p == nil {
		var err error
		if p, err = policy.Load(t, o.PolicyPath); err != nil {
			return o, nil, err
		}
	}
	o.DefaultNamespace = cmp.Or(o.DefaultNamespace, p.DefaultNamespace, "default")
	o.FailOn = cmp.Or(o.FailOn, p.FailOn, report.High)
	o.LegacyTokens = cmp.Or(o.LegacyTokens, p.LegacyTokens)
	o.ControllerAccounts = cmp.Or(o.ControllerAccounts, p.ControllerAccounts)
	o.ExternalRoles = append(append([]*manifest.Object(nil), o.ExternalRoles...), p.ExternalRoles...)
	o.Render.RemoteBases = append(append([]string(nil), o.Render.RemoteBases...), p.RemoteBases...)
	if p.Remote.Allow != nil { // the policy's word replaces the caller's default
		o.Render.Remote.Allow = slices.Clone(p.Remote.Allow)
	}
	if len(p.Overlays.Include) > 0 || len(p.Overlays.Exclude) > 0 {
		o.Render.Selections = append(slices.Clone(o.Render.Selections), render.Selection{
			From: "the policy's overlays (" + cmp.Or(p.Path, policy.DefaultPath) + ")", Include: p.Overlays.Include, Exclude: p.Overlays.Exclude})
	}
	return o, p, nil
}
