package diff

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

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
	o.ExternalRoles = append(append([]*manifest.Object(nil), o.ExternalRoles...), p.ExternalRoles...)
	o.Render.RemoteBases = append(append([]string(nil), o.Render.RemoteBases...), p.RemoteBases...)
	if len(p.Overlays.Include) > 0 || len(p.Overlays.Exclude) > 0 {
		sel := o.SelectOverlay
		o.SelectOverlay = func(path string) bool {
			return p.OverlaySelected(path) && (sel == nil || sel(path))
		}
	}
	return o, p, nil
}

// finish applies the policy's severities and exemptions, reports a change
// to the policy file itself (diff mode: a loosened policy needs a review of
// its own), and sets the verdict.
func finish(r *report.Report, p *policy.Policy, o Options, base, head source.Tree) {
	if base != nil && head != nil && o.Policy == nil {
		path := cmp.Or(o.PolicyPath, policy.DefaultPath)
		b, _ := fs.ReadFile(base, path) // nil when missing: "no policy"
		h, _ := fs.ReadFile(head, path)
		r.Findings = append(r.Findings, policy.Changed(b, h, path)...)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	p.Apply(r, now())
	r.Finish(o.FailOn)
}

// skippedFiles reports the manifests head left out of its tree (too large,
// a link leaving the repository) that base did not already leave out: a
// file rbacguard cannot read may hold any grant, so it fails the gate.
func skippedFiles(base, head source.Tree) []report.Finding {
	old := map[source.Skip]bool{}
	if base != nil {
		for _, s := range base.Skipped() {
			old[s] = true
		}
	}
	var out []report.Finding
	for _, s := range head.Skipped() {
		switch path.Ext(s.Path) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		if old[s] {
			continue
		}
		out = append(out, report.Finding{
			ID:       report.ID(report.ManifestError, "", s.Path, "skipped"),
			Kind:     report.ManifestError,
			Severity: report.High,
			Location: report.Location{Path: s.Path},
			Message:  fmt.Sprintf("%s was not checked: %s", s.Path, s.Reason),
			Risk:     "a manifest rbacguard cannot read may grant anything; split the file or replace the link with the file itself",
		})
	}
	return out
}
