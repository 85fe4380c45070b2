package diff

import (
	"bytes"
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/render"
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
		o.Render.Selections = append(slices.Clone(o.Render.Selections), render.Selection{
			From: "the policy's overlays (" + cmp.Or(p.Path, policy.DefaultPath) + ")", Include: p.Overlays.Include, Exclude: p.Overlays.Exclude})
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
	for i := range r.Findings {
		if r.Findings[i].Preexisting { // whatever the policy says of the kind: not this change's
			r.Findings[i].Severity = report.Info
		}
	}
	r.Finish(o.FailOn)
}

// unusedRBAC reports the RBAC objects a change adds or edits in files that
// no overlay renders (render.Unused): the reviewer should know that nothing
// deploys them, and the gate does not block on what nothing deploys.
func unusedRBAC(base, head source.Tree, o Options) []report.Finding {
	var out []report.Finding
	for _, f := range render.Unused(head, o.Render) {
		data, _ := fs.ReadFile(head, f)
		if old, err := fs.ReadFile(base, f); err == nil && bytes.Equal(old, data) {
			continue
		}
		objs, _ := manifest.Decode(f, data)
		var names []string
		for _, obj := range objs {
			switch obj.Kind {
			case "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
				names = append(names, obj.String())
			}
		}
		if len(names) == 0 {
			continue
		}
		out = append(out, report.Finding{
			ID:       report.ID(report.ManifestUnused, "", f),
			Kind:     report.ManifestUnused,
			Severity: report.Info,
			Location: report.Location{Path: f, Line: 1},
			Message:  fmt.Sprintf("%s: %s not part of any overlay: nothing renders it, so it is not checked", f, strings.Join(names, ", ")),
			Risk:     "if something deploys it on its own, name its directory in --include or the policy's overlays.include so it is checked",
		})
	}
	return out
}

// skippedFiles reports the manifests head left out of its tree (too large,
// a link leaving the repository): a file rbacguard cannot read may hold
// any grant, so it fails the gate, unless base left it out too (then it is
// kept preexisting, at info, by finish).
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
		out = append(out, report.Finding{
			Preexisting: old[s],
			ID:          report.ID(report.ManifestError, "", s.Path, "skipped"),
			Kind:        report.ManifestError,
			Severity:    report.High,
			Location:    report.Location{Path: s.Path},
			Message:     fmt.Sprintf("%s was not checked: %s", s.Path, s.Reason),
			Risk:        "a manifest rbacguard cannot read may grant anything; split the file or replace the link with the file itself",
		})
	}
	return out
}
