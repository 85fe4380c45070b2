package manifest

import (
	"bytes"
	"crypto/sha256"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Cache shares decoded documents between the two trees of a diff. Most
// documents are byte for byte the same at base and head, and decoding YAML
// is the most expensive step of rendering a large plain repository, so a
// document is decoded once and its objects are shared. Shared objects must
// be treated as read-only. A Cache is safe for concurrent use; the nil
// Cache decodes without caching.
type Cache struct {
	mu   sync.Mutex
	docs map[[sha256.Size]byte]*cached
}

// cached is one document's objects; ready is closed once they are set, so
// that base and head, rendered at the same time, decode it only once.
type cached struct {
	ready chan struct{}
	objs  []*Object
	ok    bool
}

// NewCache returns an empty cache, meant to live for one diff.
func NewCache() *Cache { return &Cache{docs: map[[sha256.Size]byte]*cached{}} }

// Decode is Decode with documents cached by file, position and content:
// a document that moved to another line is decoded again, so that every
// object's lines stay exact. A file any of whose documents does not decode
// cleanly is decoded whole, without the cache, so that errors read exactly
// as Decode reports them.
func (c *Cache) Decode(path string, data []byte) ([]*Object, []error) {
	if c == nil {
		return Decode(path, data)
	}
	var out []*Object
	for _, d := range splitDocuments(data) {
		h := sha256.New()
		h.Write([]byte(path))
		h.Write([]byte{0, byte(d.line), byte(d.line >> 8), byte(d.line >> 16), byte(d.line >> 24), 0})
		h.Write(d.text)
		var key [sha256.Size]byte
		h.Sum(key[:0])
		c.mu.Lock()
		e, found := c.docs[key]
		if !found {
			e = &cached{ready: make(chan struct{})}
			c.docs[key] = e
		}
		c.mu.Unlock()
		if found {
			<-e.ready
		} else {
			var errs []error
			e.objs, errs = Decode(path, d.text)
			e.ok = len(errs) == 0
			for _, o := range e.objs {
				o.shift(d.line - 1)
			}
			close(e.ready)
		}
		if !e.ok {
			return Decode(path, data)
		}
		objs := e.objs
		out = append(out, objs...)
	}
	return out, nil
}

// shift moves the object's lines down by n, for a document decoded apart
// from the lines before it in its file.
func (o *Object) shift(n int) {
	if n == 0 {
		return
	}
	o.Origin.Line += n
	var walk func(*yaml.Node)
	seen := map[*yaml.Node]bool{}
	walk = func(y *yaml.Node) {
		if y == nil || seen[y] {
			return
		}
		seen[y] = true
		y.Line += n
		for _, c := range y.Content {
			walk(c)
		}
	}
	walk(o.src)
}

type document struct {
	line int // 1-based line of the document's first line in the file
	text []byte
}

// splitDocuments cuts a YAML stream before each "---" document marker at
// the start of a line. Block scalars cannot hide such a line, since their
// content is indented.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		l := data[i:next]
		if i > start && bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == '\n' || l[3] == ' ' || l[3] == '\t' || l[3] == '\r') {
			docs = append(docs, document{line: startLine, text: data[start:i]})
			start, startLine = i, line
		}
		i = next
		line++
	}
	return append(docs, document{line: startLine, text: data[start:]})
}
