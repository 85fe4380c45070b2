package render

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// patch is one patch document of an overlay's closure, kept to trace the
// fields it writes back to its lines.
type patch struct {
	file   string
	offset int        // added to node lines: inline patches start inside the kustomization
	doc    *yaml.Node // a mapping (strategic merge) or a sequence (JSON 6902)
	kind   string     // target kind and name, from the patch's target or its own metadata
	name   string
	depth  int // nesting of its kustomization: deeper ones apply first
}

func (p *patch) at(n *yaml.Node) manifest.Location {
	return manifest.Location{Path: p.file, Line: n.Line + p.offset}
}

// collectPatches records the patches a kustomization field declares.
func (w *walker) collectPatches(k *kustFile, field string, val *yaml.Node) error {
	if val.Kind != yaml.SequenceNode {
		return nil
	}
	for _, item := range val.Content {
		if w.cut[item] {
			continue
		}
		var pathNode, inline, target *yaml.Node
		switch {
		case item.Kind == yaml.MappingNode:
			pathNode, inline, target = child(item, "path"), child(item, "patch"), child(item, "target")
		case item.Kind == yaml.ScalarNode && field == "patchesStrategicMerge":
			if w.exists(path.Join(k.dir, item.Value)) {
				pathNode = item
			} else {
				inline = item
			}
		}
		switch field {
		case "patches", "patchesStrategicMerge", "patchesJson6902":
		case "replacements":
			if item.Kind == yaml.MappingNode {
				src := child(item, "source")
				w.c.targeted = append(w.c.targeted, targeted{k, val, item, scalar(src, "kind"), scalar(src, "name")})
			}
			continue
		default:
			continue
		}
		var kind, name string
		if target != nil {
			kind, name = scalar(target, "kind"), scalar(target, "name")
		}
		before := len(w.c.patches)
		switch {
		case pathNode != nil && pathNode.Kind == yaml.ScalarNode:
			file := path.Clean(path.Join(k.dir, pathNode.Value))
			data, err := fs.ReadFile(w.t, file)
			if err != nil {
				continue // kustomize reports the missing file
			}
			w.addPatchDocs(file, 0, data, kind, name)
		case inline != nil && inline.Kind == yaml.ScalarNode:
			offset := inline.Line - 1
			if inline.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				offset = inline.Line // the block starts on the next line
			}
			w.addPatchDocs(k.path, offset, []byte(inline.Value), kind, name)
		}
		for _, p := range w.c.patches[before:] {
			w.c.targeted = append(w.c.targeted, targeted{k, val, item, p.kind, p.name})
		}
	}
	return nil
}

func (w *walker) addPatchDocs(file string, offset int, data []byte, kind, name string) {
	if checkAliases(data) != nil {
		return
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var n yaml.Node
		if dec.Decode(&n) != nil || len(n.Content) == 0 {
			return
		}
		doc := n.Content[0]
		p := &patch{file: file, offset: offset, doc: doc, kind: kind, name: name, depth: len(w.stack)}
		if doc.Kind == yaml.MappingNode {
			if p.kind == "" {
				p.kind = scalar(doc, "kind")
			}
			if p.name == "" {
				p.name = scalar(child(doc, "metadata"), "name")
			}
		}
		w.c.patches = append(w.c.patches, p)
	}
}

// applies reports whether p may have written to obj, whose name before
// kustomize's prefixes was orgName. Values decide the rest: a field is
// traced to the patch only where the rendered value is the patch's.
func (p *patch) applies(obj *manifest.Object, orgName string) bool {
	if p.kind != "" && !globEq(p.kind, obj.Kind) {
		return false
	}
	if p.name == "" {
		return true
	}
	return globEq(p.name, orgName) || globEq(p.name, obj.Name) || strings.Contains(obj.Name, p.name)
}

// globEq matches a target name, which kustomize reads as a regexp.
func globEq(pattern, s string) bool {
	if pattern == s {
		return true
	}
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	return err == nil && re.MatchString(s)
}

// trace records on obj the lines of the fields p wrote.
func (p *patch) trace(obj *manifest.Object) {
	switch p.doc.Kind {
	case yaml.MappingNode:
		p.traceSMP(obj, p.doc, obj.Body, nil)
	case yaml.SequenceNode:
		for _, op := range p.doc.Content {
			p.traceOp(obj, op)
		}
	}
}

// traceSMP walks a strategic-merge patch beside the rendered object.
func (p *patch) traceSMP(obj *manifest.Object, n *yaml.Node, v any, at []any) {
	switch n.Kind {
	case yaml.MappingNode:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if strings.HasPrefix(key.Value, "$") {
				continue // merge directives
			}
			if len(at) == 1 && at[0] == "metadata" && key.Value == "name" {
				continue // names the target; the source wrote it
			}
			rv, ok := m[key.Value]
			if !ok {
				continue
			}
			sub := append(append([]any{}, at...), key.Value)
			if val.Kind != yaml.MappingNode && matches(val, rv) {
				obj.SetLine(p.at(key), sub...)
			}
			p.traceSMP(obj, val, rv, sub)
		}
	case yaml.SequenceNode:
		list, ok := v.([]any)
		if !ok {
			return
		}
		for j, item := range n.Content {
			idx := -1
			if len(n.Content) == len(list) && matches(item, list[j]) {
				idx = j
			} else {
				for i, rv := range list {
					if sameElement(item, rv) {
						idx = i
						break
					}
				}
			}
			if idx < 0 {
				continue
			}
			sub := append(append([]any{}, at...), idx)
			obj.SetLine(p.at(item), sub...)
			p.traceSMP(obj, item, list[idx], sub)
		}
	}
}

// sameElement finds a list element by its merge key (name, or any scalar
// field the element shares) or, for scalars and key-less elements, by value.
func sameElement(n *yaml.Node, v any) bool {
	if n.Kind == yaml.MappingNode {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for _, key := range []string{"name", "mountPath", "containerPort", "devicePath", "ip", "topologyKey"} {
			if kn := child(n, key); kn != nil {
				return matches(kn, m[key])
			}
		}
	}
	return matches(n, v)
}

// traceOp traces one JSON 6902 operation: the fields under its path were
// written by its value.
func (p *patch) traceOp(obj *manifest.Object, op *yaml.Node) {
	kind := scalar(op, "op")
	if kind != "add" && kind != "replace" {
		return
	}
	ptr, val := child(op, "path"), child(op, "value")
	if ptr == nil || val == nil {
		return
	}
	at, ok := resolvePointer(obj.Body, ptr.Value, val)
	if !ok {
		return
	}
	if !matches(val, getPath(obj.Body, at)) {
		return
	}
	obj.SetLine(p.at(val), at...)
	p.traceSMP(obj, val, getPath(obj.Body, at), at)
}

// resolvePointer turns a JSON pointer into a path of the rendered object;
// "-" (append) is the last element equal to val.
func resolvePointer(body map[string]any, ptr string, val *yaml.Node) ([]any, bool) {
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	var at []any
	var cur any = body
	for _, seg := range strings.Split(ptr[1:], "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			at = append(at, seg)
			cur = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if seg == "-" {
				i = -1
				for j := len(c) - 1; j >= 0; j-- {
					if matches(val, c[j]) {
						i = j
						break
					}
				}
			} else if err != nil {
				return nil, false
			}
			if i < 0 || i >= len(c) {
				return nil, false
			}
			at = append(at, i)
			cur = c[i]
		default:
			return nil, false
		}
	}
	return at, true
}

func getPath(v any, at []any) any {
	for _, p := range at {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k < 0 || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// matches compares a patch node with a rendered value loosely (as text at
// the leaves): a mapping matches if every key it sets matches.
func matches(n *yaml.Node, v any) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		switch v.(type) {
		case map[string]any, []any:
			return false
		case nil:
			return n.Tag == "!!null" || n.Value == ""
		}
		return n.Value == fmt.Sprint(v)
	case yaml.MappingNode:
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.HasPrefix(n.Content[i].Value, "$") {
				continue
			}
			if !matches(n.Content[i+1], m[n.Content[i].Value]) {
				return false
			}
		}
		return true
	case yaml.SequenceNode:
		l, ok := v.([]any)
		if !ok {
			return false
		}
		for _, item := range n.Content {
			found := false
			for _, x := range l {
				if matches(item, x) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case yaml.AliasNode:
		return n.Alias != nil && matches(n.Alias, v)
	}
	return false
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node, key string) string {
	if v := child(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
