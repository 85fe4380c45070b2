package render

import (
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/source"
)

// KustomizationNames are the file names kustomize accepts, in its order.
var KustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Overlay is one unit that is rendered and compared on its own.
type Overlay struct {
	Path      string // directory of a kustomize root or of plain manifests
	Kustomize bool
	// Files are the manifests of a plain overlay.
	Files []string
	// decoded are Files as discovery decoded them, for Render to reuse.
	decoded []decoded
}

// Overlays finds every kustomize root of t (a directory with a
// kustomization that no other kustomization uses) and every directory of
// YAML manifests that no kustomization includes (see plainOverlays), and
// keeps those the include and exclude globs of o select.
func Overlays(t source.Tree, opts ...Options) []Overlay {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	return discover(o, t)[0]
}

// discover finds the overlays of each tree; the plain ones are grouped
// over all trees at once, so that an overlay keeps its path across them.
func discover(o Options, trees ...source.Tree) [][]Overlay {
	out := make([][]Overlay, len(trees))
	plain := make([][]string, len(trees))
	for i, t := range trees {
		out[i], plain[i] = kustomizeRoots(t)
	}
	for i, ovs := range plainOverlays(plain, trees, o.cache) {
		out[i] = append(out[i], ovs...)
	}
	for i := range out {
		out[i] = slices.DeleteFunc(out[i], func(ov Overlay) bool { return !o.selected(ov.Path) })
		slices.SortFunc(out[i], func(a, b Overlay) int { return strings.Compare(a.Path, b.Path) })
	}
	return out
}

// kustomizeRoots returns the kustomize roots of t and the manifests no
// kustomization includes.
func kustomizeRoots(t source.Tree) (roots []Overlay, plain []string) {
	dirs := map[string]string{} // dir → kustomization file
	for _, f := range t.Files() {
		if slices.Contains(KustomizationNames, path.Base(f)) {
			if _, ok := dirs[path.Dir(f)]; !ok {
				dirs[path.Dir(f)] = f
			}
		}
	}
	used := map[string]bool{}
	refs := map[string][]string{}
	for dir, file := range dirs {
		for _, ref := range kustomizationRefs(t, file) {
			p := path.Clean(path.Join(dir, ref))
			used[p] = true
			refs[dir] = append(refs[dir], p)
		}
	}
	var paths []string
	for _, dir := range sortedKeys(dirs) {
		if !used[dir] {
			paths = append(paths, dir)
		}
	}
	// Kustomizations that only name each other (a cycle no root reaches)
	// are rendered too, so that the cycle is reported, not skipped.
	reached := map[string]bool{}
	var reach func(string)
	reach = func(d string) {
		if reached[d] {
			return
		}
		reached[d] = true
		for _, r := range refs[d] {
			reach(r)
		}
	}
	for _, r := range paths {
		reach(r)
	}
	for _, dir := range sortedKeys(dirs) {
		if !reached[dir] {
			paths = append(paths, dir)
			reach(dir)
		}
	}
	for _, dir := range paths {
		roots = append(roots, Overlay{Path: dir, Kustomize: true})
	}
	for _, f := range t.Files() {
		if isManifestName(f) && !insideKustomization(f, dirs) && !used[f] {
			plain = append(plain, f)
		}
	}
	return roots, plain
}

func isManifestName(f string) bool {
	if strings.HasPrefix(f, ".") || strings.Contains(f, "/.") {
		return false // .github, .git and other dot directories hold no manifests
	}
	switch path.Ext(f) {
	case ".yaml", ".yml", ".json":
		return !slices.Contains(KustomizationNames, path.Base(f))
	}
	return false
}

// insideKustomization reports whether f lies in or below a directory that
// has a kustomization: such files belong to that kustomization (as a
// resource, a patch or nothing at all), not to the plain overlay.
func insideKustomization(f string, dirs map[string]string) bool {
	for d := path.Dir(f); ; d = path.Dir(d) {
		if _, ok := dirs[d]; ok {
			return true
		}
		if d == "." || d == "/" {
			return false
		}
	}
}

// kustomizationRefs lists the local paths a kustomization names in fields
// that load other kustomizations or files: resources, bases, components,
// transformers, generators and validators.
func kustomizationRefs(t source.Tree, file string) []string {
	data, err := fs.ReadFile(t, file)
	if err != nil {
		return nil
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil {
		return nil
	}
	var refs []string
	for _, field := range loaderFields {
		list, _ := k[field].([]any)
		for _, r := range list {
			if s, ok := r.(string); ok && !isRemote(s) && !strings.Contains(s, "\n") {
				refs = append(refs, s)
			}
		}
	}
	return refs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
