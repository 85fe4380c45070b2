package render

import (
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The files a cut entry names are inputs of the overlay too: nothing
// renders them, but a change to them changes what was not checked, so an
// overlay is Unchanged only when they are identical as well, and an edit
// in them is an edit of what no one checked (diff reports it high).

// configInputs returns a function's or plugin's config file p and the
// tree files its values name, relative to its directory.
func (w *walker) configInputs(p string) []string {
	in := []string{p}
	data, err := fs.ReadFile(w.t, p)
	if err != nil {
		return in
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil {
		in = append(in, w.namedFiles(path.Dir(p), &doc)...)
	}
	slices.Sort(in)
	return slices.Compact(in)
}

// namedFiles returns the files of the tree that scalar values under n name,
// relative to dir. Directories are not followed: a value that happens to
// name one (a namespace, a release name) must not make every file under it
// an input.
func (w *walker) namedFiles(dir string, n *yaml.Node) []string {
	var out []string
	eachScalar(n, func(m *yaml.Node) bool {
		v := strings.TrimSpace(m.Value)
		if v == "" || strings.Contains(v, "\n") || isRemote(v) || path.IsAbs(v) {
			return true
		}
		if p := path.Clean(path.Join(dir, v)); fs.ValidPath(p) && w.exists(p) {
			out = append(out, p)
		}
		return true
	})
	return out
}

// filesUnder returns the files of the tree under directory d.
func (w *walker) filesUnder(d string) []string {
	if !fs.ValidPath(d) || d == "." || !w.dirs[d] {
		return nil
	}
	var out []string
	for _, f := range w.t.Files() {
		if strings.HasPrefix(f, d+"/") {
			out = append(out, f)
		}
	}
	return out
}

// cutInputs returns every file the closure's cut entries name.
func (c *closure) cutInputs() []string {
	var out []string
	for _, s := range c.skipped {
		out = append(out, s.Inputs...)
	}
	return out
}

// entryEnd is the last line of item, an element of parent; for a key of a
// mapping, the last line of its value.
func entryEnd(parent, item *yaml.Node) int {
	if parent.Kind == yaml.MappingNode {
		if i := slices.Index(parent.Content, item); i >= 0 && i%2 == 0 && i+1 < len(parent.Content) {
			return lastLine(parent.Content[i+1])
		}
	}
	return lastLine(item)
}

// lastLine is the last line a node's text spans.
func lastLine(n *yaml.Node) int {
	end := n.Line
	eachNode(n, func(m *yaml.Node) bool {
		l := m.Line
		if m.Kind == yaml.ScalarNode && m.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			l += strings.Count(strings.TrimSuffix(m.Value, "\n"), "\n") + 1 // the block starts on the next line
		}
		end = max(end, l)
		return true
	})
	return end
}
