package diff

import (
	"fmt"
	"strings"

	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
)

// remoteInputs lists the remote entries an overlay rendered with, for the
// report's overlays[].inputs.
func remoteInputs(in []render.Input) []report.RemoteInput {
	var out []report.RemoteInput
	for _, i := range in {
		out = append(out, report.RemoteInput{Path: i.Path, Line: i.Line, URL: i.URL, Ref: i.Ref, Commit: i.Commit})
	}
	return out
}

// fromRemote points the findings whose objects came from a fetched remote
// entry at the entry's line in the kustomization — the line a pull request
// bumping its ref edits — and says which versions they come from:
// "(from github.com/fluxcd/flux2/manifests/install v2.3.0 → v2.4.0)".
// Their own files live in no repository a reviewer can open. base is nil
// in a scan.
func fromRemote(findings []report.Finding, base, head *render.Result) {
	for i := range findings {
		f := &findings[i]
		// A chain may pass through a fetched base whatever the finding's
		// own line is (the repository's patch of a base's role).
		displayVia(f.Via, head, base)
		for _, st := range f.Path {
			for _, g := range st.Grants {
				displayVia(g.Via, head, base)
			}
		}
		in, side := remoteOf(f.Location.Path, head), head
		if in == nil && base != nil {
			in, side = remoteOf(f.Location.Path, base), base
		}
		if in == nil {
			continue
		}
		f.Location = report.Location{Path: in.Path, Line: in.Line}
		if side == base { // only the base had it (a decrease): its entry at head, if any
			if h := sameEntry(*in, head); h != nil {
				f.Location = report.Location{Path: h.Path, Line: h.Line}
			}
		}
		var from string
		if base != nil {
			from = versions(sameEntry(*in, base), sameEntry(*in, head))
		} else {
			from = in.Version()
		}
		f.Message += fmt.Sprintf(" (from %s %s)", in.URL, from)
		for j := range f.AlsoAt {
			if a := remoteOf(f.AlsoAt[j].Path, side); a != nil {
				f.AlsoAt[j] = report.Location{Path: a.Path, Line: a.Line}
			}
		}
	}
}

// remoteOf is the remote entry whose mount holds file p, nil when p is
// the repository's own.
func remoteOf(p string, r *render.Result) *render.Input {
	if r == nil || !strings.HasPrefix(p, render.RemoteDir+"/") {
		return nil
	}
	for i := range r.Inputs {
		if strings.HasPrefix(p, r.Inputs[i].Mount+"/") {
			return &r.Inputs[i]
		}
	}
	return nil
}

// sameEntry is r's entry for the same URL (at any ref).
func sameEntry(in render.Input, r *render.Result) *render.Input {
	if r == nil {
		return nil
	}
	for i := range r.Inputs {
		if r.Inputs[i].URL == in.URL {
			return &r.Inputs[i]
		}
	}
	return nil
}

func versions(base, head *render.Input) string {
	switch {
	case base == nil && head != nil:
		return head.Version() + ", new"
	case head == nil && base != nil:
		return base.Version() + ", removed"
	case base.Ref == head.Ref && base.Commit != head.Commit: // a tag that moved
		return fmt.Sprintf("%s %s → %s", head.Ref, base.Short(), head.Short())
	case base.Ref == head.Ref:
		return head.Version()
	}
	return base.Version() + " → " + head.Version()
}

// unpinned reports the remote entries of head that name a branch or no
// ref: never fetched, and free to change without a pull request. Medium
// when the change adds one or touches the overlay; info and preexisting
// otherwise.
func unpinned(overlay string, head, base []render.Skipped, touched bool) []report.Finding {
	var out []report.Finding
	for _, s := range head {
		if !s.Unpinned {
			continue
		}
		f := report.Finding{
			ID:       report.ID(report.RenderUnpinned, overlay, s.What),
			Kind:     report.RenderUnpinned,
			Severity: report.Medium,
			Overlay:  overlay,
			Location: report.Location{Path: s.Path, Line: s.Line},
			Message:  fmt.Sprintf("overlay %s names the remote base %s at a branch or no ref: what it grants can change without a pull request, and it is not checked", overlay, s.What),
			Risk:     "pin it to a tag or a full commit SHA, so that an upgrade is a pull request rbacguard checks",
		}
		if strings.HasPrefix(s.What, "chart ") {
			f.Message = fmt.Sprintf("overlay %s names the %s by a version range or no version: what it renders can change without a pull request, and it is not checked", overlay, s.What)
			f.Risk = "pin it to an exact version (or an OCI digest), so that an upgrade is a pull request rbacguard checks"
		}
		had := false
		for _, b := range base {
			had = had || b.Unpinned && b.What == s.What
		}
		if had && !touched {
			f.Severity, f.Preexisting = report.Info, true
		}
		out = append(out, f)
	}
	return out
}

// displayVia names the files of a chain that came from a fetched entry as
// the remote repository's files, at the version fetched; a file is looked
// for in each result in turn (head, then base).
func displayVia(via []report.Ref, rs ...*render.Result) {
	for i := range via {
		for _, r := range rs {
			if in := remoteOf(via[i].Path, r); in != nil {
				via[i].Path, _ = in.Display(via[i].Path)
				break
			}
		}
	}
}
