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
	mu    sync.Mutex
	docs  store[cachedDoc]
	files store[[]*yaml.Node]
}

// cacheBudget bounds each of a Cache's stores, in bytes of the YAML they
// were decoded from (decoded, a document takes twenty to forty times
// that): enough for the documents base and head share while one overlay's
// two sides render, small enough that the cache is not itself the peak of
// a large repository's diff (at 24 MiB it was: argo-cd's release diff
// peaked at 513 MB of live heap, at 6 MiB at 228 MB, for 5% more CPU).
const cacheBudget = 6 << 20

// cachedDoc is one document's objects; ok is false if it did not decode
// cleanly.
type cachedDoc struct {
	objs []*Object
	ok   bool
}

// once is a value computed by the first caller that needs it; ready is
// closed once it is set, so that base and head, rendered at the same time,
// compute it only once.
type once[T any] struct {
	ready chan struct{}
	v     T
}

// store is a bounded map of computed values: past its budget the oldest
// entries are dropped (a caller already waiting on one still gets it).
type store[T any] struct {
	m      map[[sha256.Size]byte]*once[T]
	order  [][sha256.Size]byte
	sizes  []int
	used   int
	budget int
}

func newStore[T any]() store[T] {
	return store[T]{m: map[[sha256.Size]byte]*once[T]{}, budget: cacheBudget}
}

// shared returns s's value for key, computing it with f if no caller has;
// size is what the entry counts against the budget.
func shared[T any](mu *sync.Mutex, s *store[T], key [sha256.Size]byte, size int, f func() T) T {
	mu.Lock()
	e, found := s.m[key]
	if !found {
		e = &once[T]{ready: make(chan struct{})}
		s.m[key] = e
		s.order, s.sizes, s.used = append(s.order, key), append(s.sizes, size), s.used+size
		for s.used > s.budget && len(s.order) > 1 {
			delete(s.m, s.order[0])
			s.used -= s.sizes[0]
			s.order, s.sizes = s.order[1:], s.sizes[1:]
		}
	}
	mu.Unlock()
	if found {
		<-e.ready
	} else {
		e.v = f()
		close(e.ready)
	}
	return e.v
}

// NewCache returns an empty cache, meant to live for one diff.
func NewCache() *Cache {
	return &Cache{docs: newStore[cachedDoc](), files: newStore[[]*yaml.Node]()}
}

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
		e := shared(&c.mu, &c.docs, key(path, d.line, d.text), len(d.text), func() cachedDoc {
			objs, errs := Decode(path, d.text)
			for _, o := range objs {
				o.shift(d.line - 1)
			}
			return cachedDoc{objs, len(errs) == 0}
		})
		if !e.ok {
			return Decode(path, data)
		}
		out = append(out, e.objs...)
	}
	return out, nil
}

// Nodes returns the root nodes of a file's YAML documents, parsed once per
// path and content: overlays over a shared base trace their objects to the
// same source nodes instead of each holding a parse of its own. The nodes
// must be treated as read-only. A document that does not parse ends the
// list.
func (c *Cache) Nodes(path string, data []byte) []*yaml.Node {
	if c == nil {
		return parseNodes(data)
	}
	return shared(&c.mu, &c.files, key(path, 0, data), len(data), func() []*yaml.Node { return parseNodes(data) })
}

func parseNodes(data []byte) []*yaml.Node {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if dec.Decode(&n) != nil {
			return docs
		}
		if len(n.Content) > 0 {
			docs = append(docs, n.Content[0])
		}
	}
}

func key(path string, line int, text []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(path))
	h.Write([]byte{0, byte(line), byte(line >> 8), byte(line >> 16), byte(line >> 24), 0})
	h.Write(text)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
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
