package render

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/glob"
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
}

// Overlays finds every kustomize root of t (a directory with a
// kustomization that no other kustomization uses) and every directory of
// YAML manifests that no kustomization includes (see plainOverlays), and
// keeps those the selections of o select.
func Overlays(t source.Tree, opts ...Options) []Overlay {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ovs, _ := discover(o, t)
	return ovs[0]
}

// discover finds the overlays of each tree; the plain ones are grouped
// over all trees at once, so that an overlay keeps its path across them.
// A kustomization that others use is an overlay of its own where an
// include glob names it and no selected overlay includes it. The error is
// a *SelectionError when a selection matches no overlay of any tree.
func discover(o Options, trees ...source.Tree) ([][]Overlay, error) {
	out := make([][]Overlay, len(trees))
	plain := make([][]string, len(trees))
	ks := make([]kustomizations, len(trees))
	for i, t := range trees {
		ks[i] = findKustomizations(t, o.Ignoring(t))
		out[i], plain[i] = ks[i].roots(), ks[i].plain
	}
	for i, ovs := range plainOverlays(plain, trees, o.cache) {
		out[i] = append(out[i], ovs...)
	}
	keepIdentity(out, trees)
	sels := o.selections()
	selected := o.selects
	var all []string // every overlay and kustomization path, for the error
	for i := range out {
		for _, ov := range out[i] {
			all = append(all, ov.Path)
		}
		for _, d := range ks[i].named(sels) {
			if selected(d) && !ks[i].includedBy(d, out[i], selected) {
				out[i] = append(out[i], Overlay{Path: d, Kustomize: true})
			}
		}
		all = append(all, sortedKeys(ks[i].dirs)...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	for i := range out {
		out[i] = slices.DeleteFunc(out[i], func(ov Overlay) bool { return !selected(ov.Path) })
		slices.SortFunc(out[i], func(a, b Overlay) int { return strings.Compare(a.Path, b.Path) })
		out[i] = slices.CompactFunc(out[i], func(a, b Overlay) bool { return a.Path == b.Path })
	}
	return out, checkSelections(sels, all, out)
}

// Selection is one set of overlay globs and where it was written ("--include",
// "the paths input", ".github/rbacguard.yaml:4"), for its error message.
// An overlay is checked when it passes every selection.
type Selection struct {
	From             string
	Include, Exclude []string
}

// selects reports whether the overlay path p passes every selection.
func (o Options) selects(p string) bool {
	for _, s := range o.selections() {
		if !glob.Select(s.Include, s.Exclude, p) {
			return false
		}
	}
	return true
}

func (o Options) selections() []Selection {
	sels := slices.Clone(o.Selections)
	if len(o.Include) > 0 || len(o.Exclude) > 0 {
		from := "--include and --exclude"
		switch {
		case len(o.Exclude) == 0:
			from = "--include"
		case len(o.Include) == 0:
			from = "--exclude"
		}
		sels = append([]Selection{{From: from, Include: o.Include, Exclude: o.Exclude}}, sels...)
	}
	return sels
}

// SelectionError is a selection that selects nothing: a typo in a glob
// must not turn into a check of nothing that passes.
type SelectionError struct {
	From     string
	Glob     string   // the include glob that matched nothing; "" when all globs together select nothing
	Existing []string // some overlay paths that exist
}

func (e *SelectionError) Error() string {
	what := fmt.Sprintf("%s select no overlay", e.From)
	if e.Glob != "" {
		what = fmt.Sprintf("%s glob %q matches no overlay or kustomization at base or head", e.From, e.Glob)
	}
	if len(e.Existing) == 0 {
		return what + "; the tree has none"
	}
	shown := e.Existing[:min(len(e.Existing), 5)]
	more := ""
	if n := len(e.Existing) - len(shown); n > 0 {
		more = fmt.Sprintf(" (and %d more)", n)
	}
	return fmt.Sprintf("%s; overlays that exist: %s%s", what, strings.Join(shown, ", "), more)
}

func checkSelections(sels []Selection, all []string, out [][]Overlay) error {
	for _, s := range sels {
		for _, g := range s.Include {
			if !slices.ContainsFunc(all, func(p string) bool { return glob.Path(g, p) }) {
				return &SelectionError{From: s.From, Glob: g, Existing: all}
			}
		}
	}
	if len(sels) > 0 && !slices.ContainsFunc(out, func(ovs []Overlay) bool { return len(ovs) > 0 }) {
		from := make([]string, len(sels))
		for i, s := range sels {
			from[i] = s.From
		}
		return &SelectionError{From: strings.Join(from, " and "), Existing: all}
	}
	return nil
}

// kustomizations are the kustomization directories of a tree, what each
// names, and the manifests no kustomization includes.
type kustomizations struct {
	dirs  map[string]string   // dir → kustomization file
	refs  map[string][]string // dir → the local paths it names
	used  map[string]bool     // named by another kustomization
	plain []string
}

func findKustomizations(t source.Tree, ignored func(string) bool) kustomizations {
	k := kustomizations{dirs: map[string]string{}, refs: map[string][]string{}, used: map[string]bool{}}
	for _, f := range t.Files() {
		if slices.Contains(KustomizationNames, path.Base(f)) && !ignored(f) {
			if _, ok := k.dirs[path.Dir(f)]; !ok {
				k.dirs[path.Dir(f)] = f
			}
		}
	}
	for dir, file := range k.dirs {
		for _, ref := range kustomizationRefs(t, file) {
			p := path.Clean(path.Join(dir, ref))
			k.used[p] = true
			k.refs[dir] = append(k.refs[dir], p)
		}
	}
	for _, f := range t.Files() {
		if isManifestName(f) && !insideKustomization(f, k.dirs) && !k.used[f] && !ignored(f) && !isLink(t, f) {
			k.plain = append(k.plain, f)
		}
	}
	return k
}

// isLink reports whether f is a symbolic link to another file of t: the
// same file, which must not count as a second definition of its objects.
func isLink(t source.Tree, f string) bool {
	lt, ok := t.(interface{ LinkTarget(string) (string, bool) })
	if !ok {
		return false
	}
	_, link := lt.LinkTarget(f)
	return link
}

// roots returns the kustomize roots: kustomizations no other one uses and
// that do not lie inside another kustomization's directory (such a one is
// unused: nothing deploys it, see Unused). Kustomizations that only name
// each other (a cycle no root reaches) are rendered too, so that the cycle
// is reported, not skipped.
func (k kustomizations) roots() []Overlay {
	var paths []string
	for _, dir := range sortedKeys(k.dirs) {
		if !k.used[dir] && !k.nested(dir) {
			paths = append(paths, dir)
		}
	}
	reached := map[string]bool{}
	for _, r := range paths {
		k.reach(r, reached)
	}
	for _, dir := range sortedKeys(k.dirs) {
		if !reached[dir] && !k.nested(dir) {
			paths = append(paths, dir)
			k.reach(dir, reached)
		}
	}
	roots := make([]Overlay, len(paths))
	for i, dir := range paths {
		roots[i] = Overlay{Path: dir, Kustomize: true}
	}
	return roots
}

// nested reports whether dir lies inside another kustomization's directory.
func (k kustomizations) nested(dir string) bool {
	return dir != "." && insideKustomization(dir, k.dirs)
}

// Unused lists the YAML files of t that lie inside a kustomization's
// directory tree but that nothing renders: no kustomization names them, or
// they belong to a kustomization no other one uses, nested in another's
// tree (an overlay of its own only when an include glob names it).
func Unused(t source.Tree, o Options) []string {
	ignored := o.Ignoring(t)
	k := findKustomizations(t, ignored)
	roots := map[string]bool{}
	for _, r := range k.roots() {
		roots[r.Path] = true
	}
	for _, d := range k.named(o.selections()) {
		roots[d] = true
	}
	reached := map[string]bool{}
	for r := range roots {
		k.reach(r, reached)
	}
	named := map[string]bool{}
	for dir, file := range k.dirs {
		if reached[dir] {
			for _, m := range mentions(t, dir, file) {
				named[m] = true
			}
		}
	}
	var out []string
	for _, f := range t.Files() {
		if !isManifestName(f) || ignored(f) || isLink(t, f) || named[f] {
			continue
		}
		if ownerKustomization(f, k.dirs) != "" {
			out = append(out, f)
		}
	}
	return out
}

// ownerKustomization is the closest directory at or above f's that has a
// kustomization, or "".
func ownerKustomization(f string, dirs map[string]string) string {
	for d := path.Dir(f); ; d = path.Dir(d) {
		if _, ok := dirs[d]; ok {
			return d
		}
		if d == "." || d == "/" {
			return ""
		}
	}
}

// mentions lists every tree path a kustomization's values name, whatever
// the field (resources, patches, generators, replacements, …).
func mentions(t source.Tree, dir, file string) []string {
	data, err := fs.ReadFile(t, file)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var out []string
	eachScalar(&doc, func(n *yaml.Node) bool {
		v := strings.TrimSpace(n.Value)
		if _, after, ok := strings.Cut(v, "="); ok {
			v = after
		}
		if v != "" && !strings.Contains(v, "\n") {
			out = append(out, path.Clean(path.Join(dir, v)))
		}
		return true
	})
	return out
}

func (k kustomizations) reach(d string, reached map[string]bool) {
	if reached[d] {
		return
	}
	reached[d] = true
	for _, r := range k.refs[d] {
		k.reach(r, reached)
	}
}

// named returns the kustomizations other ones use that an include glob
// of sels names.
func (k kustomizations) named(sels []Selection) []string {
	var out []string
	for _, dir := range sortedKeys(k.dirs) {
		if !k.used[dir] {
			continue
		}
		for _, s := range sels {
			if slices.ContainsFunc(s.Include, func(g string) bool { return glob.Path(g, dir) }) {
				out = append(out, dir)
				break
			}
		}
	}
	return out
}

// includedBy reports whether a selected kustomize overlay of ovs reaches
// dir: then dir is checked as part of it, not again on its own.
func (k kustomizations) includedBy(dir string, ovs []Overlay, selected func(string) bool) bool {
	for _, ov := range ovs {
		if !ov.Kustomize || ov.Path == dir || !selected(ov.Path) {
			continue
		}
		reached := map[string]bool{}
		if k.reach(ov.Path, reached); reached[dir] {
			return true
		}
	}
	return false
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
	var refs []string
	for _, r := range kustomizationRefLines(t, file) {
		refs = append(refs, r.value)
	}
	return refs
}

// ref is a kustomization entry and the line that names it.
type ref struct {
	value string
	line  int
}

// kustomizationRefLines is kustomizationRefs with the line of each entry.
func kustomizationRefLines(t source.Tree, file string) []ref {
	data, err := fs.ReadFile(t, file)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	top := doc.Content[0]
	var refs []ref
	for _, field := range loaderFields {
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value != field || top.Content[i+1].Kind != yaml.SequenceNode {
				continue
			}
			for _, item := range top.Content[i+1].Content {
				if s := item.Value; item.Kind == yaml.ScalarNode && item.Tag != "!!null" && s != "" && !isRemote(s) && !strings.Contains(s, "\n") {
					refs = append(refs, ref{s, item.Line})
				}
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
