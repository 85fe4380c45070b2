package diff

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
	"github.com/rbacguard/rbacguard/diff/workload"
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
	// SelectOverlay, when set, limits the run to the overlays it accepts.
	SelectOverlay func(path string) bool
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
}

// DefaultOptions take the gate threshold and default namespace from the
// policy file, else gate on high and put namespace-less objects in
// "default".
func DefaultOptions() Options {
	return Options{Render: render.DefaultOptions()}
}

// Run compares base and head: what the change does to who may do what.
func Run(ctx context.Context, base, head source.Tree, o Options) (*report.Report, error) {
	// render-owned: planning and rendering live in eachOverlay.
	o, pol, err := withPolicy(base, o)
	if err != nil {
		return nil, err
	}
	r := &report.Report{Mode: "diff", Base: base.Rev(), Head: head.Rev()}
	changed := newChangedLines(base, head)
	eachOverlay(ctx, base, head, o, func(p render.Rendered) {
		ov, findings := compareOverlay(p, o, changed.Changed)
		r.Overlays = append(r.Overlays, ov)
		r.Findings = append(r.Findings, findings...)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, skippedFiles(base, head)...)
	finish(r, pol, o, base, head)
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
	eachOverlay(ctx, source.Empty(""), t, o, func(p render.Rendered) {
		status := report.Overlay{Path: p.Path, Status: report.OverlayRendered}
		if p.HeadErr != nil {
			status.Status, status.Error = report.OverlayFailed, p.HeadErr.Error()
			r.Overlays = append(r.Overlays, status)
			r.Findings = append(r.Findings, renderError(p.Path, p.HeadErr, report.High, "cannot be rendered"))
			return
		}
		r.Overlays = append(r.Overlays, status)
		r.Findings = append(r.Findings, docProblems(p.Path, p.Head.Problems, nil)...)
		r.Findings = append(r.Findings, scanOverlay(p.Path, p.Head.Objects, o)...)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, skippedFiles(nil, t)...)
	finish(r, pol, o, nil, nil)
	return r, nil
}

func (o Options) rbacOptions(changed func(string, int) bool) rbac.Options {
	return rbac.Options{DefaultNamespace: o.DefaultNamespace, ExternalRoles: o.ExternalRoles, Changed: changed}
}

// eachOverlay plans which overlays the change affects, renders those at
// base and head on a bounded pool and hands each to fn in a stable order,
// while the pool renders the next ones.
func eachOverlay(ctx context.Context, base, head source.Tree, o Options, fn func(render.Rendered)) {
	// render-owned: see diff/render Plan and RenderEach.
	ro := o.Render.Shared()
	pairs := render.Plan(base, head, ro)
	if o.SelectOverlay != nil {
		pairs = slices.DeleteFunc(pairs, func(p render.Pair) bool { return !o.SelectOverlay(p.Path) })
	}
	render.RenderEach(ctx, base, head, pairs, ro, fn)
}

func compareOverlay(p render.Rendered, o Options, changed func(string, int) bool) (report.Overlay, []report.Finding) {
	// render-owned: turns one rendered pair into its status and findings.
	status := report.Overlay{Path: p.Path, Status: report.OverlayRendered}
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
	var findings []report.Finding
	if headErr != nil {
		status.Status, status.Error = report.OverlayFailed, headErr.Error()
		sev, what := report.High, "no longer renders"
		switch {
		case p.Pair.Base == nil:
			what = "is new and cannot be rendered"
		case baseErr != nil:
			sev, what = report.Low, "still cannot be rendered"
		}
		return status, append(findings, renderError(p.Path, headErr, sev, what))
	}
	if baseErr != nil || baseRes == nil {
		// Base did not render: everything head grants is compared with
		// nothing, which over-reports rather than hides.
		baseRes = &render.Result{}
	}
	if headRes == nil {
		headRes = &render.Result{}
	}
	findings = append(findings, docProblems(p.Path, headRes.Problems, baseRes.Problems)...)
	findings = append(findings, analyze(p.Path, baseRes.Objects, headRes.Objects, o, changed)...)
	return status, findings
}

// renderError turns a failed render into a finding at the file and line
// kustomize blamed, or at the overlay's directory.
func renderError(overlay string, err error, sev report.Severity, what string) report.Finding {
	loc := report.Location{Path: overlay}
	var re *render.Error
	if errors.As(err, &re) && re.Path != "" {
		loc = report.Location{Path: re.Path, Line: re.Line}
	}
	return report.Finding{
		ID:       report.ID(report.RenderError, overlay),
		Kind:     report.RenderError,
		Severity: sev,
		Overlay:  overlay,
		Location: loc,
		Message:  fmt.Sprintf("overlay %s %s: %v", overlay, what, err),
		Risk:     "what this overlay grants cannot be checked until it renders",
	}
}

// docProblems reports documents head cannot read that base could: a
// manifest nobody can read may hide any grant, so it fails the gate.
func docProblems(overlay string, head, base []*manifest.DocError) []report.Finding {
	old := map[string]bool{}
	for _, e := range base {
		old[e.Err.Error()] = true
	}
	var out []report.Finding
	for _, e := range head {
		if old[e.Err.Error()] {
			continue
		}
		out = append(out, report.Finding{
			ID:       report.ID(report.ManifestError, overlay, e.Path, e.Doc, e.Err.Error()),
			Kind:     report.ManifestError,
			Severity: report.High,
			Overlay:  overlay,
			Location: report.Location{Path: e.Path, Line: cmp.Or(e.Line, 1)},
			Message:  e.Error(),
			Risk:     "a manifest that cannot be read may grant anything; fix the YAML so it can be checked",
		})
	}
	return out
}

// addWorkloads names, on each permission finding, the workloads whose
// pods hold the subject's token: the pods that gain (or hold) the power.
func addWorkloads(findings []report.Finding, objs []*manifest.Object, defaultNS string) {
	ws := workload.Find(objs, cmp.Or(defaultNS, "default"))
	if len(ws) == 0 {
		return
	}
	sas := workload.ServiceAccounts(objs, cmp.Or(defaultNS, "default"))
	for i := range findings {
		s := findings[i].Subject
		if s == nil || findings[i].Permission == nil {
			continue
		}
		for _, w := range ws {
			if runsAs(w, s) && workload.MountsToken(w, sas) {
				findings[i].Workloads = append(findings[i].Workloads, report.Workload{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name})
			}
		}
	}
}

func runsAs(w workload.Workload, s *report.Subject) bool {
	switch s.Kind {
	case "ServiceAccount":
		return w.Namespace == s.Namespace && w.ServiceAccount == s.Name
	case "Group":
		return s.Name == "system:serviceaccounts" || s.Name == "system:authenticated" ||
			s.Name == "system:serviceaccounts:"+w.Namespace
	}
	return false
}
