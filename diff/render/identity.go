package render

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/source"
)

// An overlay keeps its identity across a change. Which kustomizations are
// roots depends on who uses whom, and a pull request that adds an overlay
// on top of an existing one (argo-cd's manifests/dev-tilt on
// manifests/cluster-install-with-hydrator) must neither report the
// existing one removed, with every grant it holds as a decrease, nor
// report the new one's inherited grants as new.

// keepIdentity makes a kustomize root of one tree an overlay of the other
// trees too where it is still a kustomization there (others started or
// stopped using it): it is removed only when its directory or
// kustomization is gone, and added only when it is new. A kustomization
// that is a Component on the other side cannot be rendered alone there and
// is left as it is.
func keepIdentity(out [][]Overlay, trees []source.Tree) {
	for i := range trees {
		for _, ov := range out[i] {
			if !ov.Kustomize {
				continue
			}
			for j, t := range trees {
				if j == i || hasOverlay(out[j], ov.Path) {
					continue
				}
				if f := kustomizationFile(t, ov.Path); f != "" && !isComponent(t, f) {
					out[j] = append(out[j], Overlay{Path: ov.Path, Kustomize: true})
				}
			}
		}
	}
}

func hasOverlay(ovs []Overlay, p string) bool {
	for _, ov := range ovs {
		if ov.Path == p {
			return true
		}
	}
	return false
}

// BuiltOn is a kustomization that existed at base and that an overlay new
// at head builds on (as a resource or base, directly or through
// kustomizations that are new too): the new overlay is compared with it.
type BuiltOn struct {
	Path string // the kustomization's directory
	// File and Line are where the new overlay (or a new kustomization it
	// uses) names it.
	File string
	Line int
}

// builtOn lists what the new kustomize overlay dir of head builds on that
// existed at base, in the order its kustomizations name them.
func builtOn(base, head source.Tree, dir string) []BuiltOn {
	var out []BuiltOn
	seen := map[string]bool{dir: true}
	var walk func(dir string)
	walk = func(dir string) {
		file := kustomizationFile(head, dir)
		for _, r := range kustomizationRefLines(head, file) {
			p := path.Clean(path.Join(dir, r.value))
			if seen[p] || !fs.ValidPath(p) {
				continue
			}
			seen[p] = true
			hf := kustomizationFile(head, p)
			if hf == "" || isComponent(head, hf) {
				continue // a file, or what kustomize cannot build alone
			}
			if bf := kustomizationFile(base, p); bf != "" && !isComponent(base, bf) {
				out = append(out, BuiltOn{Path: p, File: file, Line: r.line})
				continue
			}
			walk(p) // new as well: what does it build on?
		}
	}
	walk(dir)
	return out
}

// placement reads the name and namespace transformers of the new
// overlay's kustomization: what it builds on is compared as the new
// overlay places it (argo-cd's install manifests leave the namespace to
// kubectl -n; an overlay on them that sets namespace: argocd moves no
// grant).
func placement(head source.Tree, dir string) map[string]string {
	data, err := fs.ReadFile(head, kustomizationFile(head, dir))
	if err != nil {
		return nil
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil {
		return nil
	}
	out := map[string]string{}
	for _, field := range []string{"namespace", "namePrefix", "nameSuffix"} {
		if v, ok := k[field].(string); ok && v != "" {
			out[field] = v
		}
	}
	return out
}

// builtOnDir is where the kustomization that stands for what a new
// overlay builds on is placed in the base tree: below the new overlay's
// directory, which base does not have as a kustomization.
func builtOnDir(dir string) string { return path.Join(dir, ".rbacguard-built-on") }

// renderBuiltOn renders at base what the new overlay p builds on, as one
// kustomization that lists each (so kustomize merges them as it merges
// any resources) with the new overlay's name and namespace transformers.
func renderBuiltOn(ctx context.Context, base source.Tree, p Pair, o Options) (*Result, error) {
	dir := builtOnDir(p.Path)
	if kustomizationFile(base, dir) != "" {
		return nil, fmt.Errorf("%s: base already has a kustomization there", dir)
	}
	k := map[string]any{}
	for f, v := range p.Placement {
		k[f] = v
	}
	var resources []string
	for _, b := range p.BuiltOn {
		rel, err := filepath.Rel(dir, b.Path)
		if err != nil {
			return nil, err
		}
		resources = append(resources, filepath.ToSlash(rel))
	}
	k["resources"] = resources
	data, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	file := source.NewMem(base.Rev(), source.DefaultLimits())
	name := path.Join(dir, KustomizationNames[0])
	if err := file.Add(name, data); err != nil {
		return nil, err
	}
	t := withFile{Tree: base, name: name, file: file}
	return Render(ctx, t, Overlay{Path: dir, Kustomize: true}, o)
}

// withFile is a tree with one more file, held in memory by file.
type withFile struct {
	source.Tree
	name string
	file *source.Mem
}

func (w withFile) Open(name string) (fs.File, error) {
	if name == w.name {
		return w.file.Open(name)
	}
	return w.Tree.Open(name)
}

func (w withFile) Files() []string { return append(slices.Clone(w.Tree.Files()), w.name) }
