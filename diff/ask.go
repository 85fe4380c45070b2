package diff

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// The query commands (who-can, can-i, drift) render trees here, with the
// policy applied as for a diff, and ask package query.

// Overlays renders every overlay of t that o and t's policy select and
// hands each to fn, in path order, with the options the policy gives for
// reading it.
func Overlays(ctx context.Context, t source.Tree, o Options, fn func(query.Overlay, query.Options)) error {
	o, _, err := withPolicy(t, o)
	if err != nil {
		return err
	}
	qo := o.queryOptions()
	skipped := skippedFiles(nil, t, o)
	n := 0
	err = eachOverlay(ctx, source.Empty(""), t, o, func(p render.Rendered) {
		ov := rendered(p.Path, p.Head, p.HeadErr)
		ov.Unread = append(ov.Unread, unreadIn(p.Path, skipped)...)
		n++
		fn(ov, qo)
	})
	if err := cmp.Or(err, ctx.Err()); err != nil {
		return err
	}
	if n == 0 {
		return noOverlay(t)
	}
	return nil
}

// OverlayPairs renders the overlays a change from base to head affects
// (the policy read from base, as in a diff) and hands each to fn with
// both sides; base is nil for an overlay new at head. Overlays the change
// leaves alone, and those it removes, are not handed over: nothing in them
// is new; it returns how many it left alone. Neither tree having an
// overlay is an error.
func OverlayPairs(ctx context.Context, base, head source.Tree, o Options, fn func(base *query.Overlay, head query.Overlay, qo query.Options)) (unchanged int, err error) {
	o, _, err = withPolicy(base, o)
	if err != nil {
		return 0, err
	}
	qo := o.queryOptions()
	skipped := skippedFiles(nil, head, o)
	n := 0
	err = eachOverlay(ctx, base, head, o, func(p render.Rendered) {
		n++
		if p.Status == render.Unchanged || p.Pair.Head == nil {
			if p.Status == render.Unchanged {
				unchanged++
			}
			return
		}
		var b *query.Overlay
		if p.Pair.Base != nil || len(p.BuiltOn) > 0 { // a new overlay is asked against what it builds on
			ov := rendered(p.Path, p.Base, p.BaseErr)
			b = &ov
		}
		ov := rendered(p.Path, p.Head, p.HeadErr)
		ov.Unread = append(ov.Unread, unreadIn(p.Path, skipped)...)
		fn(b, ov, qo)
	})
	if err := cmp.Or(err, ctx.Err()); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, noOverlay(head)
	}
	return unchanged, nil
}

// Resources is the API surface a request against t resolves in: the
// built-in one, and, when a's resource is not built in, the resources
// the CustomResourceDefinitions among t's files define (read as written:
// a CRD that only a Helm chart or a remote base brings is not seen).
func Resources(t source.Tree, a query.RequestArgs) query.Resources {
	rs := query.BuiltinResources()
	if rs.Builtin(a) {
		return rs
	}
	var crds []*manifest.Object
	for _, f := range t.Files() {
		switch path.Ext(f) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		data, err := fs.ReadFile(t, f)
		if err != nil || !bytes.Contains(data, []byte("CustomResourceDefinition")) {
			continue
		}
		objs, _ := manifest.Decode(f, data)
		crds = append(crds, objs...)
	}
	return rs.WithCRDs(crds)
}

// Drift reports what the cluster export grants beyond the repository and
// what the repository grants that the cluster lacks (query.Drift). The
// repository's overlays are those named (every overlay of the tree when
// none is), read with the repository's policy, which also sets the
// severities, exemptions and the gate; every overlay of the export is
// read.
func Drift(ctx context.Context, cluster, repo source.Tree, overlays []string, o Options) (*report.Report, error) {
	o, pol, err := withPolicy(repo, o)
	if err != nil {
		return nil, err
	}
	if len(overlays) > 0 {
		var want []string
		for _, ov := range overlays {
			want = append(want, path.Clean(ov))
		}
		o.Render.Selections = append(slices.Clone(o.Render.Selections), render.Selection{From: "the overlays named", Include: want})
		// Discovery with the selection finds what the user named even
		// where it would pass it over unnamed: a kustomization other ones
		// use (argo-cd's manifests/cluster-install), a testdata directory.
		found := map[string]bool{}
		for _, ov := range render.Overlays(repo, o.Render) { // with the names selected: one under examples/ counts
			found[ov.Path] = true
		}
		for _, ov := range overlays {
			if !found[path.Clean(ov)] {
				return nil, fmt.Errorf("drift: %s is not an overlay of %s (a kustomize root or a directory of manifests)", ov, repo.Rev())
			}
		}
	}
	r := &report.Report{Mode: "drift", Base: repo.Rev(), Head: cluster.Rev()}
	var selErr error
	var partial []report.Finding // paths as named already
	collect := func(t source.Tree, o Options, name func(string) string) []query.Overlay {
		var out []query.Overlay
		selErr = cmp.Or(selErr, eachOverlay(ctx, source.Empty(""), t, o, func(p render.Rendered) {
			ov := rendered(p.Path, p.Head, p.HeadErr)
			status := report.Overlay{Path: name(p.Path), Status: report.OverlayRendered}
			switch {
			case ov.Err != nil:
				status.Status, status.Error = report.OverlayFailed, ov.Err.Error()
			case len(p.Head.Skipped) > 0:
				// What a cut input grants is neither drift nor in sync:
				// said, as a diff says it.
				status.Status, status.Skipped = report.OverlayPartial, ov.Skipped
				partial = append(partial, partialRender(name(p.Path), p.Head.Skipped, nil, true, nil))
			}
			r.Overlays = append(r.Overlays, status)
			out = append(out, ov)
		}))
		return out
	}
	repoOvs := collect(repo, o, func(p string) string { return p })
	// The export is read whole, whatever selects the repository's overlays.
	co := o
	co.Render.Selections, co.Render.Include, co.Render.Exclude = nil, nil, nil
	clusterOvs := collect(cluster, co, func(p string) string {
		if p == "." {
			return cluster.Rev()
		}
		return cluster.Rev() + "/" + p
	})
	if err := cmp.Or(selErr, ctx.Err()); err != nil {
		return nil, err
	}
	if len(repoOvs) == 0 {
		return nil, noOverlay(repo)
	}
	if err := noRBAC(cluster, clusterOvs); err != nil {
		return nil, err
	}
	var names []string
	for _, ov := range repoOvs {
		names = append(names, ov.Path)
	}
	slices.Sort(names)
	r.Findings = query.Drift(clusterOvs, repoOvs, strings.Join(names, ", "), o.queryOptions())
	// Paths of the export are shown as the operator named it, so that
	// both sides' paths can be opened from where the command ran.
	for i := range r.Findings {
		if f := &r.Findings[i]; f.Kind != report.DriftNotApplied {
			f.Location.Path = clusterPath(cluster, f.Location.Path)
			for j := range f.Via {
				f.Via[j].Path = clusterPath(cluster, f.Via[j].Path)
			}
		}
	}
	r.Findings = append(r.Findings, partial...)
	r.Findings = append(r.Findings, skippedFiles(nil, cluster, co)...)
	r.Findings = append(r.Findings, skippedFiles(nil, repo, o)...)
	r.SkippedDirs = skippedDirs(o, repo)
	finish(r, pol, o, nil, nil, nil)
	return r, nil
}

// clusterPath names a file of the cluster's tree as the command line did:
// the file itself for an export given as one file, else below the
// directory given.
func clusterPath(cluster source.Tree, p string) string {
	if p == "" {
		return ""
	}
	if files := cluster.Files(); len(files) == 1 && files[0] == p && path.Base(cluster.Rev()) == p {
		return cluster.Rev()
	}
	return path.Join(cluster.Rev(), p)
}

func (o Options) queryOptions() query.Options {
	return query.Options{DefaultNamespace: o.DefaultNamespace, ExternalRoles: o.ExternalRoles}
}

func rendered(p string, res *render.Result, err error) query.Overlay {
	ov := query.Overlay{Path: p, Err: err}
	if res != nil {
		ov.Objects = res.Objects
		if len(res.Inputs) > 0 || len(res.Charts) > 0 {
			ov.Place = func(via []report.Ref) []report.Ref {
				out := slices.Clone(via)
				displayVia(out, res)
				chartVia(out, res)
				return out
			}
		}
		ov.Skipped = skippedInputs(res.Skipped)
		for _, e := range res.Problems {
			ov.Unread = append(ov.Unread, e.Error())
		}
	}
	return ov
}

// unreadIn names the manifests the tree left out (too large, a link
// leaving the tree) that lie in the overlay's directory, as skippedFiles
// reports them once in a diff or scan: an answer about the overlay cannot
// account for what they grant. A file elsewhere is not the overlay's.
func unreadIn(overlay string, skipped []report.Finding) []string {
	var out []string
	for _, f := range skipped {
		if overlay == "." || strings.HasPrefix(f.Location.Path, overlay+"/") {
			out = append(out, f.Message)
		}
	}
	return out
}
