package diff

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
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
	err = eachOverlay(ctx, base, head, o, func(p render.Rendered) {
		ov, findings := compareOverlay(p, o, changed.Changed)
		r.Overlays = append(r.Overlays, ov)
		r.Findings = append(r.Findings, findings...)
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, skippedFiles(base, head)...)
	r.Findings = append(r.Findings, unusedRBAC(base, head, o)...)
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
	err = eachOverlay(ctx, source.Empty(""), t, o, func(p render.Rendered) {
		status := report.Overlay{Path: p.Path, Status: report.OverlayRendered}
		if p.HeadErr != nil {
			status.Status, status.Error = report.OverlayFailed, p.HeadErr.Error()
			r.Overlays = append(r.Overlays, status)
			r.Findings = append(r.Findings, renderError(p.Path, p.HeadErr, report.High, "cannot be rendered"))
			return
		}
		if len(p.Head.Skipped) > 0 {
			status.Status, status.Skipped = report.OverlayPartial, skippedInputs(p.Head.Skipped)
			r.Findings = append(r.Findings, partialRender(p.Path, p.Head.Skipped, nil, true))
		}
		r.Overlays = append(r.Overlays, status)
		r.Findings = append(r.Findings, docProblems(p.Path, p.Head.Problems, nil)...)
		r.Findings = append(r.Findings, templates(p.Path, p.Head.Templates, nil)...)
		r.Findings = append(r.Findings, scanOverlay(p.Path, p.Head.Objects, o)...)
	})
	if err != nil {
		return nil, err
	}
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

func compareOverlay(p render.Rendered, o Options, changed func(string, int) bool) (report.Overlay, []report.Finding) {
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
	if len(headRes.Skipped) > 0 {
		status.Status, status.Skipped = report.OverlayPartial, skippedInputs(headRes.Skipped)
		findings = append(findings, partialRender(p.Path, headRes.Skipped, baseRes.Skipped, p.Touched))
	}
	findings = append(findings, docProblems(p.Path, headRes.Problems, baseRes.Problems)...)
	findings = append(findings, templates(p.Path, headRes.Templates, baseRes.Templates)...)
	findings = append(findings, analyze(p.Path, baseRes.Objects, headRes.Objects, o, changed)...)
	return status, findings
}

func skippedInputs(skipped []render.Skipped) []report.SkippedInput {
	out := make([]report.SkippedInput, len(skipped))
	for i, s := range skipped {
		out[i] = report.SkippedInput{Path: s.Path, Line: s.Line, What: s.What, Why: s.Why}
	}
	return out
}

// partialRender says what an overlay was rendered without. In a diff it
// is the change's finding when the change adds a skipped input or touches
// the overlay (base is nil in a scan); it points at the first input the
// change added, else the first skipped.
func partialRender(overlay string, head, base []render.Skipped, touched bool) report.Finding {
	at := head[0]
	for _, s := range head {
		if !slices.ContainsFunc(base, func(b render.Skipped) bool { return b.What == s.What && b.Why == s.Why }) {
			at = s
			break
		}
	}
	whats := make([]string, 0, len(head))
	for _, s := range head {
		whats = append(whats, fmt.Sprintf("%s (%s:%d)", s.What, s.Path, s.Line))
	}
	f := report.Finding{
		ID:       report.ID(report.RenderPartial, overlay),
		Kind:     report.RenderPartial,
		Severity: report.Medium,
		Overlay:  overlay,
		Location: report.Location{Path: at.Path, Line: at.Line},
		Message: fmt.Sprintf("overlay %s was rendered without %d input(s) rbacguard never fetches or runs; what they add is not checked: %s",
			overlay, len(head), strings.Join(whats, ", ")),
		Risk: "objects and patches from these inputs may grant anything; vendor them into the repository, or allow a trusted prefix in remoteBases, so they are checked",
	}
	if !touched {
		f.Severity, f.Preexisting = report.Info, true
	}
	return f
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

// docProblems reports documents head cannot read: a manifest nobody can
// read may hide any grant, so it fails the gate. One base could not read
// either is not the change's doing: kept at info, marked preexisting.
func docProblems(overlay string, head, base []*manifest.DocError) []report.Finding {
	old := map[string]bool{}
	for _, e := range base {
		old[report.ProblemKey(e.Path, e.Err.Error())] = true
	}
	var out []report.Finding
	for _, e := range head {
		f := report.Finding{
			ID:       report.ID(report.ManifestError, overlay, e.Path, e.Doc, e.Err.Error()),
			Kind:     report.ManifestError,
			Severity: report.High,
			Overlay:  overlay,
			Location: report.Location{Path: e.Path, Line: cmp.Or(e.Line, 1)},
			Message:  e.Error(),
			Risk:     "a manifest that cannot be read may grant anything; fix the YAML so it can be checked",
		}
		if old[report.ProblemKey(e.Path, e.Err.Error())] {
			f.Severity, f.Preexisting = report.Info, true
		}
		out = append(out, f)
	}
	return out
}

// templates reports the template files an overlay passed over, once per
// directory; a directory that held templates at base too is not news.
func templates(overlay string, head, base []string) []report.Finding {
	byDir := map[string][]string{}
	for _, f := range head {
		byDir[path.Dir(f)] = append(byDir[path.Dir(f)], f)
	}
	old := map[string]bool{}
	for _, f := range base {
		old[path.Dir(f)] = true
	}
	var out []report.Finding
	for _, dir := range slices.Sorted(maps.Keys(byDir)) {
		files := byDir[dir]
		out = append(out, report.Finding{
			ID:          report.ID(report.ManifestTemplate, overlay, dir),
			Kind:        report.ManifestTemplate,
			Severity:    report.Info,
			Overlay:     overlay,
			Location:    report.Location{Path: files[0], Line: 1},
			Message:     fmt.Sprintf("%d file(s) in %s are templates ({{ … }} or ${VAR} syntax), not manifests: not checked", len(files), dir),
			Preexisting: old[dir],
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
			rw := report.Workload{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
			// One object defined in several files of an overlay is one workload.
			if runsAs(w, s) && workload.MountsToken(w, sas) && !slices.Contains(findings[i].Workloads, rw) {
				findings[i].Workloads = append(findings[i].Workloads, rw)
			}
		}
	}
}

func runsAs(w workload.Workload, s *report.Subject) bool {
	return w.RunsAs(s.Kind, s.Namespace, s.Name)
}
