package diff

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/rbacguard/rbacguard/diff/change"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// Run compares base and head: what the change does to who may do what.
func Run(ctx context.Context, base, head source.Tree, o Options) (*report.Report, error) {
	o, pol, err := withPolicy(base, o)
	if err != nil {
		return nil, err
	}
	r := &report.Report{Mode: "diff", Base: base.Rev(), Head: head.Rev()}
	changed := change.Between(base, head)
	var seen tally
	err = eachOverlay(ctx, base, head, o, func(p render.Rendered) {
		seen.add(p)
		ov, findings := compareOverlay(p, o, changed)
		r.Overlays = append(r.Overlays, ov)
		r.Findings = append(r.Findings, findings...)
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A new repository (nothing at base) is a change like any other; both
	// sides holding nothing is no check.
	if err := seen.nothing(base, head); err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, skippedFiles(base, head, o)...)
	r.SkippedDirs = skippedDirs(o, base, head)
	r.Findings = append(r.Findings, unusedRBAC(base, head, o)...)
	evidence, err := auditEvidence(o.AuditLogs)
	if err != nil {
		return nil, err
	}
	finish(r, pol, o, base, head, changed.Line)
	if evidence != nil { // on the findings as shown, one per rule
		evidence(r)
	}
	return r, nil
}

// Scan reports the risky access one tree grants, as it stands.
func Scan(ctx context.Context, t source.Tree, o Options) (*report.Report, error) {
	o, pol, err := withPolicy(t, o)
	if err != nil {
		return nil, err
	}
	r := &report.Report{Mode: "scan", Head: t.Rev()}
	// Against an empty base every overlay is new: rendered once, on the pool.
	var seen tally
	err = eachOverlay(ctx, source.Empty(""), t, o, func(p render.Rendered) {
		seen.add(p)
		status := report.Overlay{Path: p.Path, Status: report.OverlayRendered}
		if p.HeadErr != nil {
			status.Status, status.Error = report.OverlayFailed, p.HeadErr.Error()
			r.Overlays = append(r.Overlays, status)
			r.Findings = append(r.Findings, renderError(p.Path, p.HeadErr, report.High, "cannot be rendered"))
			return
		}
		status.Inputs = append(remoteInputs(p.Head.Inputs), chartInputs(p.Head.Charts)...)
		if len(p.Head.Skipped) > 0 {
			status.Status, status.Skipped = report.OverlayPartial, skippedInputs(p.Head.Skipped)
			r.Findings = append(r.Findings, partialRender(p.Path, p.Head.Skipped, nil, true, nil))
			r.Findings = append(r.Findings, unpinned(p.Path, p.Head.Skipped, nil, true)...)
		}
		r.Overlays = append(r.Overlays, status)
		r.Findings = append(r.Findings, docProblems(p.Path, p.Head.Problems, nil)...)
		r.Findings = append(r.Findings, templates(p.Path, p.Head.Templates, nil)...)
		grants := scanOverlay(p.Path, p.Head.Objects, o)
		fromRemote(grants, nil, p.Head)
		grants = fromChart(grants, nil, p.Head, nil)
		r.Findings = append(r.Findings, grants...)
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := seen.nothing(t); err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, skippedFiles(nil, t, o)...)
	r.SkippedDirs = skippedDirs(o, t)
	finish(r, pol, o, nil, nil, nil)
	return r, nil
}

// eachOverlay plans which overlays the change affects, renders those at
// base and head on a bounded pool and hands each to fn in a stable order,
// while the pool renders the next ones. Its error is a selection that
// selects nothing (render.SelectionError).
func eachOverlay(ctx context.Context, base, head source.Tree, o Options, fn func(render.Rendered)) error {
	ro := o.Render.Shared()
	pairs, err := render.Plan(base, head, ro)
	if err != nil {
		return err
	}
	// A broken overlay must not hide what it includes: the kustomizations
	// it uses are checked in its place, level by level, until they render.
	done := map[string]bool{}
	for _, p := range pairs {
		done[p.Path] = true
	}
	for len(pairs) > 0 && ctx.Err() == nil {
		var broken []render.Pair
		render.RenderEach(ctx, base, head, pairs, ro, func(p render.Rendered) {
			fn(p)
			if p.HeadErr != nil && p.Pair.Head != nil && p.Pair.Head.Kustomize {
				broken = append(broken, p.Pair)
			}
		})
		pairs = render.StandIns(base, head, broken, done, ro)
	}
	return nil
}

func compareOverlay(p render.Rendered, o Options, changed *change.Set) (report.Overlay, []report.Finding) {
	status := report.Overlay{Path: p.Path, Status: report.OverlayRendered, StandsInFor: p.StandsInFor}
	switch p.Status {
	case render.Unchanged:
		status.Status = report.OverlayUnchanged
		return status, nil
	case render.Added:
		status.Status = report.OverlayAdded
	case render.Removed:
		status.Status = report.OverlayRemoved
	}
	baseRes, headRes, baseErr, headErr := p.Base, p.Head, p.BaseErr, p.HeadErr
	if headErr != nil {
		// Fail closed: a head that cannot be rendered hides whatever the
		// change put in it. Only when the change touched none of its inputs
		// and the base fails too is the failure not this change's doing.
		status.Status, status.Error = report.OverlayFailed, headErr.Error()
		switch {
		case p.Pair.Base == nil:
			return status, []report.Finding{renderError(p.Path, headErr, report.High, "is new and cannot be rendered")}
		case baseErr == nil:
			return status, []report.Finding{renderError(p.Path, headErr, report.High, "no longer renders")}
		case p.Touched:
			return status, []report.Finding{renderError(p.Path, headErr, report.High, "cannot be rendered, so what this change does to it is not checked")}
		case errors.Is(headErr, render.ErrOutside):
			// It reads what rbacguard was not given: whether the change
			// reached it cannot be known.
			return status, []report.Finding{renderError(p.Path, headErr, report.High, "reads outside the directory being checked, so what this change does to it is not checked")}
		}
		f := renderError(p.Path, headErr, report.Info, "cannot be rendered at the base either")
		f.Preexisting = true
		return status, []report.Finding{f}
	}
	if baseErr != nil || baseRes == nil {
		// Base did not render: everything head grants is compared with
		// nothing, which over-reports rather than hides.
		baseRes = &render.Result{}
	}
	if headRes == nil {
		headRes = &render.Result{}
	}
	var findings []report.Finding
	status.Inputs = append(remoteInputs(headRes.Inputs), chartInputs(headRes.Charts)...)
	if len(headRes.Skipped) > 0 {
		status.Status, status.Skipped = report.OverlayPartial, skippedInputs(headRes.Skipped)
		findings = append(findings, partialRender(p.Path, headRes.Skipped, baseRes.Skipped, p.Touched, changed))
		findings = append(findings, unpinned(p.Path, headRes.Skipped, baseRes.Skipped, p.Touched)...)
	}
	findings = append(findings, docProblems(p.Path, headRes.Problems, baseRes.Problems)...)
	findings = append(findings, templates(p.Path, headRes.Templates, baseRes.Templates)...)
	rbac := analyze(p.Path, baseRes.Objects, headRes.Objects, o, changed.Line)
	fromRemote(rbac, baseRes, headRes)
	rbac = fromChart(rbac, baseRes, headRes, changed)
	findings = append(findings, rbac...)
	if p.Status == render.Added && len(p.BuiltOn) > 0 && baseErr == nil {
		findings = append([]report.Finding{inherited(p, findings)}, findings...)
	}
	return status, findings
}

// finish applies the policy's severities and exemptions, reports a change
// to the policy file itself (diff mode: a loosened policy needs a review of
// its own), and sets the verdict.
//
// One rule granting one subject several atoms is one finding
// (report.GroupByRule), located at the first line the change touched
// (changed; nil in a scan).
func finish(r *report.Report, p *policy.Policy, o Options, base, head source.Tree, changed func(string, int) bool) {
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
	// Grouped after the policy, which judges and exempts each atom.
	r.Findings = report.MergeAcrossOverlays(report.GroupByRule(r.Findings, changed))
	r.Finish(o.FailOn)
}
