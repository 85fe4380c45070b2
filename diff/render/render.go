package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/source"
)

// Options tune rendering.
type Options struct {
	// RemoteBases are URL prefixes a kustomization may load from. Empty
	// (the default) refuses every remote base: fetching one would run git
	// and reach the network.
	RemoteBases []string
}

// DefaultOptions renders only what the tree holds.
func DefaultOptions() Options { return Options{} }

// Result is one rendered overlay.
type Result struct {
	Objects []*manifest.Object
	// Problems are documents that could not be read; the overlay still
	// rendered. Each names its file and document.
	Problems []*manifest.DocError
}

// ErrRemoteBase marks a kustomization that names a remote base.
var ErrRemoteBase = errors.New("remote bases are not rendered")

// Error is an overlay that failed to render.
type Error struct {
	Overlay string
	Path    string // the file at fault, when known
	Line    int
	Err     error
}

func (e *Error) Error() string {
	loc := e.Overlay
	if e.Path != "" {
		loc = e.Path
		if e.Line > 0 {
			loc = fmt.Sprintf("%s:%d", e.Path, e.Line)
		}
	}
	return fmt.Sprintf("render %s: %v", loc, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Render turns one overlay of t into objects.
func Render(ctx context.Context, t source.Tree, ov Overlay, o Options) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !ov.Kustomize {
		return renderPlain(t, ov.Files), nil
	}
	return renderKustomize(t, ov.Path, o)
}

func renderPlain(t source.Tree, files []string) *Result {
	// Decoding YAML is the hot path of large plain repositories: spread
	// the files over the cores, then merge in file order.
	type decoded struct {
		objs []*manifest.Object
		errs []*manifest.DocError
	}
	out := make([]decoded, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range next {
				out[i].objs, out[i].errs = decodeFile(t, files[i])
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	res := &Result{}
	for _, d := range out {
		res.Objects = append(res.Objects, d.objs...)
		res.Problems = append(res.Problems, d.errs...)
	}
	return res
}

// decodeFile reads one plain manifest file. A file with no Kubernetes
// object at all (a config, Helm values) is not a manifest and yields
// nothing; a file with objects reports each document it cannot read.
func decodeFile(t source.Tree, f string) ([]*manifest.Object, []*manifest.DocError) {
	data, err := fs.ReadFile(t, f)
	if err != nil {
		return nil, []*manifest.DocError{{Path: f, Err: err}}
	}
	objs, errs := manifest.Decode(f, data)
	var problems []*manifest.DocError
	for _, e := range errs {
		var de *manifest.DocError
		if !errors.As(e, &de) {
			continue
		}
		if errors.Is(de.Err, manifest.ErrNotObject) && len(objs) == 0 {
			return nil, nil
		}
		problems = append(problems, de)
	}
	return objs, problems
}

func renderKustomize(t source.Tree, dir string, o Options) (*Result, error) {
	if err := checkRemote(t, dir, o, map[string]bool{}); err != nil {
		return nil, err
	}
	mem := filesys.MakeFsInMemory()
	for _, f := range t.Files() {
		data, err := fs.ReadFile(t, f)
		if err != nil {
			return nil, err
		}
		if err := mem.WriteFile("/"+f, data); err != nil {
			return nil, err
		}
	}
	root := path.Join("/", dir)
	if err := addOriginAnnotations(mem, root); err != nil {
		return nil, &Error{Overlay: dir, Err: err}
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(mem, root)
	if err != nil {
		return nil, &Error{Overlay: dir, Err: cleanKustomizeError(err)}
	}
	res := &Result{}
	sources := sourceIndex{tree: t, docs: map[string][]*yaml.Node{}}
	for _, r := range m.Resources() {
		origin, _ := r.GetOrigin()
		if err := r.SetOrigin(nil); err != nil {
			return nil, &Error{Overlay: dir, Err: err}
		}
		data, err := r.AsYAML()
		if err != nil {
			return nil, &Error{Overlay: dir, Err: err}
		}
		objs, _ := manifest.Decode(dir, data)
		for _, obj := range objs {
			res.Objects = append(res.Objects, sources.locate(obj, r.OrgId().Name, dir, origin))
		}
	}
	return res, nil
}

// addOriginAnnotations asks kustomize to stamp every object with the file it
// came from (buildMetadata: [originAnnotations]) in the in-memory copy.
func addOriginAnnotations(mem filesys.FileSystem, dir string) error {
	for _, name := range KustomizationNames {
		p := path.Join(dir, name)
		if !mem.Exists(p) {
			continue
		}
		data, err := mem.ReadFile(p)
		if err != nil {
			return err
		}
		var k map[string]any
		if err := yaml.Unmarshal(data, &k); err != nil {
			return fmt.Errorf("%s: %w", strings.TrimPrefix(p, "/"), err)
		}
		if k == nil {
			k = map[string]any{}
		}
		meta, _ := k["buildMetadata"].([]any)
		k["buildMetadata"] = append(meta, types.OriginAnnotations)
		out, err := yaml.Marshal(k)
		if err != nil {
			return err
		}
		return mem.WriteFile(p, out)
	}
	return nil
}

func cleanKustomizeError(err error) error {
	msg := err.Error()
	// Paths in the in-memory filesystem start with "/": show them as
	// repository paths.
	msg = strings.ReplaceAll(msg, "'/", "'")
	msg = strings.ReplaceAll(msg, " /", " ")
	return errors.New(msg)
}
