package render

import (
	"unsafe"

	"go.yaml.in/yaml/v3"
)

// resultSize is the memory a result holds, estimated: what it holds alone,
// and the parts other results may hold too — its objects (manifest.Cache
// shares a plain file's objects between base and head) and the parsed
// documents their lines point into (shared by every overlay of one diff
// that reads the file) — each counted once in ResultCache.
type resultSize struct {
	own   int64
	parts []part
}

type part struct {
	key   any // *manifest.Object or *yaml.Node
	bytes int64
}

// total is the size as if nothing were shared: the most the result can
// add to a cache.
func (s resultSize) total() int64 {
	n := s.own
	for _, p := range s.parts {
		n += p.bytes
	}
	return n
}

// sizeOf estimates what res (or err) holds. Allocation size classes and
// the lines objects record round every allocation up: measured on real
// releases (kube-prometheus, cluster-api) the sums below are 5-10% under
// the heap, so a fifth is added to each.
func sizeOf(res *Result, err error) resultSize {
	own := int64(256)
	if err != nil {
		own += int64(len(err.Error()))
	}
	if res == nil {
		return resultSize{own: own}
	}
	var parts []part
	seen := map[any]bool{}
	for _, o := range res.Objects {
		if !seen[o] {
			seen[o] = true
			n := int64(unsafe.Sizeof(*o)) + 256 + valueBytes(o.Body) // 256: the lines it records
			parts = append(parts, part{o, n + n/5})
		}
		if src := o.Source(); src != nil && !seen[src] {
			seen[src] = true
			n := nodeBytes(src)
			parts = append(parts, part{src, n + n/5})
		}
	}
	own += 8 * int64(cap(res.Objects))
	for _, p := range res.Problems {
		own += int64(unsafe.Sizeof(*p)) + int64(len(p.Path)) + 64
		if p.Err != nil {
			own += int64(len(p.Err.Error()))
		}
	}
	for _, s := range res.Skipped {
		own += int64(unsafe.Sizeof(s)) + int64(len(s.Path)+len(s.What)+len(s.Why))
		for _, in := range s.Inputs {
			own += 16 + int64(len(in))
		}
	}
	for _, tpl := range res.Templates {
		own += 16 + int64(len(tpl))
	}
	return resultSize{own: own + own/5, parts: parts}
}

// valueBytes estimates a decoded JSON value as Go's runtime holds it: a
// map is a header and groups of eight slots of 16-byte keys and values, at
// most seven full; a string in an interface is a boxed header and its bytes.
func valueBytes(v any) int64 {
	const iface, header, group = 16, 64, 8 + 8*(16+16)
	switch v := v.(type) {
	case map[string]any:
		n := int64(header + group*max(1, (len(v)+6)/7))
		for k, x := range v {
			n += int64(len(k)) + valueBytes(x)
		}
		return n
	case []any:
		n := int64(24 + iface*cap(v))
		for _, x := range v {
			n += valueBytes(x)
		}
		return n
	case string:
		return 16 + int64(len(v))
	default:
		return 8
	}
}

// nodeBytes estimates a YAML node and the nodes under it.
func nodeBytes(y *yaml.Node) int64 {
	if y == nil {
		return 0
	}
	n := int64(unsafe.Sizeof(*y)) + int64(len(y.Value)+len(y.Tag)+len(y.HeadComment)+len(y.LineComment)+len(y.FootComment)) + 8*int64(cap(y.Content))
	for _, c := range y.Content {
		n += nodeBytes(c)
	}
	return n
}
