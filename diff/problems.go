package diff

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/change"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// The findings of what could not be checked, or only in part: an overlay
// that does not render or renders without some inputs, documents that
// cannot be read, template files, files left out of the tree and RBAC that
// no overlay renders. Each says where and what to do; those whose cause
// exists at the base too are kept preexisting, at info.

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

// partialRender says what an overlay was rendered without. In a diff it
// is the change's finding when the change adds a skipped input or touches
// the overlay (base is nil in a scan); it points at the first input the
// change added, else the first skipped. When the change edits what was
// not checked — a skipped entry's own lines, a file it names — it is high
// at the first such line: the pull request changed what no one checked.
// ch is nil in a scan.
func partialRender(overlay string, head, base []render.Skipped, touched bool, ch *change.Set) report.Finding {
	f := partialFinding(overlay, head, base, touched)
	if edits := editsUnchecked(head, base, ch); len(edits) > 0 {
		f.Severity, f.Preexisting, f.Location = report.High, false, edits[0].at
		var what []string
		for _, e := range edits[:min(len(edits), 3)] {
			what = append(what, e.String())
		}
		if n := len(edits) - len(what); n > 0 {
			what = append(what, fmt.Sprintf("%d more", n))
		}
		f.Message = fmt.Sprintf("this change edits what rbacguard did not check: %s; %s", strings.Join(what, ", "), f.Message)
		f.Risk = "the pull request changes inputs no one checked (a chart, its values, a remote base's version, a function's config): review what they grant by hand, or vendor them into the repository so they are checked"
	}
	return f
}

// uncheckedEdit is an edit of the change inside a skipped input: its
// entry's own lines, or a file it reads.
type uncheckedEdit struct {
	skipped render.Skipped
	at      report.Location
	entry   bool
}

func (e uncheckedEdit) String() string {
	if e.entry {
		return fmt.Sprintf("%s (the entry %s itself)", e.at, e.skipped.What)
	}
	return fmt.Sprintf("%s (read by %s at %s:%d)", e.at, e.skipped.What, e.skipped.Path, e.skipped.Line)
}

// editsUnchecked returns the edits of the change that lie in what an
// overlay was rendered without: the lines of a skipped entry in its
// kustomization, or a file the entry names (a file changed only by
// deletions counts at the entry's line), or an entry the change stopped
// checking by deleting lines (a chart's version: removed, it is no longer
// pinned). One per skipped input, in order.
func editsUnchecked(skipped, base []render.Skipped, ch *change.Set) []uncheckedEdit {
	if ch == nil {
		return nil
	}
	var out []uncheckedEdit
	for _, s := range skipped {
		if l := ch.FirstLine(s.Path, s.Line, max(s.Line, s.EndLine)); l > 0 {
			out = append(out, uncheckedEdit{s, report.Location{Path: s.Path, Line: l}, true})
			continue
		}
		if ch.Files()[s.Path] && !slices.ContainsFunc(base, func(b render.Skipped) bool { return b.What == s.What && b.Why == s.Why }) {
			out = append(out, uncheckedEdit{s, report.Location{Path: s.Path, Line: s.Line}, true})
			continue
		}
		for _, in := range s.Inputs {
			if !ch.Files()[in] {
				continue
			}
			at := report.Location{Path: s.Path, Line: s.Line}
			if l := ch.FirstLine(in, 1, 0); l > 0 {
				at = report.Location{Path: in, Line: l}
			}
			out = append(out, uncheckedEdit{s, at, false})
			break
		}
	}
	return out
}

// partialFinding is the medium finding of an overlay rendered without
// some inputs (info and preexisting when the change did not touch it).
func partialFinding(overlay string, head, base []render.Skipped, touched bool) report.Finding {
	at := head[0]
	for _, s := range head {
		if !slices.ContainsFunc(base, func(b render.Skipped) bool { return b.What == s.What && b.Why == s.Why }) {
			at = s
			break
		}
	}
	whats := make([]string, 0, len(head))
	for _, s := range head {
		whats = append(whats, fmt.Sprintf("%s (%s:%d: %s)", s.What, s.Path, s.Line, s.Why))
	}
	f := report.Finding{
		ID:       report.ID(report.RenderPartial, overlay),
		Kind:     report.RenderPartial,
		Severity: report.Medium,
		Overlay:  overlay,
		Location: report.Location{Path: at.Path, Line: at.Line},
		Message: fmt.Sprintf("overlay %s was rendered without %d input(s) rbacguard did not fetch or could not render; what they add is not checked: %s",
			overlay, len(head), strings.Join(whats, ", ")),
		Risk: "objects and patches from these inputs may grant anything; vendor them into the repository, or allow their host in the policy's remote.allow, so they are checked",
	}
	if !touched {
		f.Severity, f.Preexisting = report.Info, true
	}
	return f
}

func skippedInputs(skipped []render.Skipped) []report.SkippedInput {
	out := make([]report.SkippedInput, len(skipped))
	for i, s := range skipped {
		out[i] = report.SkippedInput{Path: s.Path, Line: s.Line, What: s.What, Why: s.Why}
	}
	return out
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
			ID:       report.ID(report.ManifestError, overlay, report.ProblemKey(e.Path, e.Err.Error())),
			Kind:     report.ManifestError,
			Severity: report.High,
			Overlay:  overlay,
			Location: report.Location{Path: e.Path, Line: cmp.Or(e.Line, 1)},
			Message:  e.Error(),
			Risk:     "a manifest that cannot be read may grant anything; fix the YAML so it can be checked",
		}
		if !grantsAccess(e.Kinds) {
			f.Severity = report.Low
			f.Risk = "a manifest that cannot be read; it names no kind that grants access (" + strings.Join(e.Kinds, ", ") + "), so it does not block"
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

// skippedFiles reports the manifests head left out of its tree (too large,
// a link leaving the repository): a file rbacguard cannot read may hold
// any grant, so it fails the gate, unless base left it out too (then it is
// kept preexisting, at info, by finish). Files in directories every
// command passes over (render.NotDeployed) are not reported: nothing
// would have read them.
func skippedFiles(base, head source.Tree, o Options) []report.Finding {
	ignored := o.Render.Ignoring(head)
	old := map[source.Skip]bool{}
	if base != nil {
		for _, s := range base.Skipped() {
			old[s] = true
		}
	}
	var out []report.Finding
	for _, s := range head.Skipped() {
		if ignored(s.Path) {
			continue
		}
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

// unusedRBAC reports the RBAC objects a change adds or edits in files that
// no overlay renders (render.Unused): the reviewer should know that nothing
// deploys them, and the gate does not block on what nothing deploys.
func unusedRBAC(base, head source.Tree, o Options) []report.Finding {
	var out []report.Finding
	passedOver := render.PassedOverManifests(head, o.Render)
	for _, f := range append(render.Unused(head, o.Render), slices.Sorted(maps.Keys(passedOver))...) {
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
		why := "not part of any overlay: nothing renders it, so it is not checked"
		if d, ok := passedOver[f]; ok {
			why = fmt.Sprintf("under %s/, which is passed over as not deployed, so it is not checked (--include '%s/**' checks it)", d, d)
		}
		out = append(out, report.Finding{
			ID:       report.ID(report.ManifestUnused, "", f),
			Kind:     report.ManifestUnused,
			Severity: report.Info,
			Location: report.Location{Path: f, Line: 1},
			Message:  fmt.Sprintf("%s: %s %s", f, strings.Join(names, ", "), why),
			Risk:     "if something deploys it on its own, name its directory in --include or the policy's overlays.include so it is checked",
		})
	}
	return out
}

// accessKinds are the kinds whose objects grant access, hold or mount
// tokens, or configure authentication: a document of one of them that
// cannot be read may hide any grant.
var accessKinds = []string{
	"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount", "Secret", "ConfigMap",
	"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController",
	"CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
	"AuthenticationConfiguration", "ClusterConfiguration", "InitConfiguration", "Config",
}

// grantsAccess reports whether a document naming kinds may grant access:
// when it names none that can be read, it may be anything.
func grantsAccess(kinds []string) bool {
	if len(kinds) == 0 {
		return true
	}
	return slices.ContainsFunc(kinds, func(k string) bool { return slices.Contains(accessKinds, k) || strings.HasSuffix(k, "List") })
}
