package render

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"slices"
	"sync"
	"unsafe"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/source"
)

// ResultCache keeps rendered overlays, keyed by a content hash of
// everything a render reads, so that pull requests against one base
// commit render the base's overlays once. It is bounded in bytes (an
// estimate of what the results hold, erring high) and drops the least
// recently used results first. It is safe for concurrent use: two renders
// of the same inputs at once render once, the second waiting for the first.
//
// Results are shared between every caller that renders the same inputs
// and must be treated as read-only, as the objects manifest.Cache shares
// already are.
//
// Only an overlay whose inputs are all known is cached: a kustomization
// whose inputs cannot be followed to the end renders every time. A render
// that failed is cached too (the same inputs fail the same way), except
// one that ran out of time or was cancelled, which says nothing about the
// inputs.
type ResultCache struct {
	max int64

	mu       sync.Mutex
	bytes    int64
	lru      *list.List // of *cached, most recently used first
	entries  map[cacheKey]*list.Element
	inflight map[cacheKey]chan struct{}
	stats    CacheStats
}

// CacheStats count what a ResultCache did since it was made.
type CacheStats struct {
	Hits, Misses int64 // renders answered from the cache, and not
	// Uncacheable are renders of overlays whose inputs could not all be
	// followed: rendered, never stored.
	Uncacheable int64
	Evictions   int64 // results dropped to stay within the bound
	Entries     int   // results held now
	Bytes       int64 // their estimated size
}

// HitRate is Hits / (Hits + Misses), 0 before any lookup.
func (s CacheStats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

type cacheKey [sha256.Size]byte

type cached struct {
	key   cacheKey
	res   *Result
	err   error
	bytes int64
}

// NewResultCache returns a cache holding at most maxBytes of results.
func NewResultCache(maxBytes int64) *ResultCache {
	return &ResultCache{max: maxBytes, lru: list.New(), entries: map[cacheKey]*list.Element{}, inflight: map[cacheKey]chan struct{}{}}
}

// Stats returns the cache's counters; nil reports zeros.
func (c *ResultCache) Stats() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes = c.lru.Len(), c.bytes
	return s
}

// render is Render through the cache.
func (c *ResultCache) render(ctx context.Context, t source.Tree, ov Overlay, o Options) (*Result, error) {
	var cl *closure
	files := ov.Files
	if ov.Kustomize {
		var err error
		if cl, err = follow(t, ov.Path, o); err != nil {
			// follow's errors come before kustomize runs: nothing to save.
			return nil, overlayError(ov.Path, err)
		}
		if cl.unsure {
			c.count(func(s *CacheStats) { s.Uncacheable++ })
			return renderClosure(ctx, t, ov.Path, cl, o)
		}
		files = cl.files
	}
	key := resultKey(t, ov, files, cl, o)
	for {
		c.mu.Lock()
		if el, ok := c.entries[key]; ok {
			c.lru.MoveToFront(el)
			c.stats.Hits++
			e := el.Value.(*cached)
			c.mu.Unlock()
			return e.shared()
		}
		wait, busy := c.inflight[key]
		if !busy {
			c.inflight[key] = make(chan struct{})
			c.stats.Misses++
		}
		c.mu.Unlock()
		if !busy {
			break
		}
		// The same inputs are being rendered: wait for that result. If it
		// is not stored (it timed out), the loop renders it here.
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var res *Result
	var err error
	defer func() { // a waiter never waits for a render that is gone
		c.mu.Lock()
		close(c.inflight[key])
		delete(c.inflight, key)
		c.mu.Unlock()
	}()
	if cl != nil {
		res, err = renderClosure(ctx, t, ov.Path, cl, o)
	} else {
		res, err = renderOverlay(ctx, t, ov, o)
	}
	e := &cached{key: key, res: res, err: err}
	if cacheable(err) {
		e.bytes = approxBytes(res, err)
		c.mu.Lock()
		c.store(e)
		c.mu.Unlock()
	}
	return e.shared()
}

func (c *ResultCache) count(f func(*CacheStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// store adds e and evicts the least recently used results beyond the
// bound; a result larger than the whole bound is not kept. c.mu is held.
func (c *ResultCache) store(e *cached) {
	if e.bytes > c.max {
		return
	}
	c.entries[e.key] = c.lru.PushFront(e)
	c.bytes += e.bytes
	for c.bytes > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		oe := old.Value.(*cached)
		delete(c.entries, oe.key)
		c.bytes -= oe.bytes
		c.stats.Evictions++
	}
}

// shared returns the result for one more caller: a copy of the Result
// whose slices are clipped, so that appending to them never writes into
// what the next caller gets. The objects themselves are shared.
func (e *cached) shared() (*Result, error) {
	if e.res == nil {
		return nil, e.err
	}
	r := *e.res
	r.Objects, r.Problems, r.Skipped, r.Templates = slices.Clip(r.Objects), slices.Clip(r.Problems), slices.Clip(r.Skipped), slices.Clip(r.Templates)
	return &r, e.err
}

// cacheable says whether a render's outcome depends on its inputs alone.
func cacheable(err error) bool {
	var to timedOut
	return !errors.As(err, &to) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// keyVersion changes when what a key covers, or what a result holds,
// changes. The cache lives in one process, so the code is fixed for its
// life; the version guards a cache that would outlive it.
const keyVersion = "rbacguard render cache 1"

// resultKey hashes everything a render of ov reads: the overlay, every
// file of its closure (what it holds, or that it does not exist), what
// the closure cut out and read documents from, and the options that
// change a render's outcome. Selections and Workers choose which overlays
// render and how many at once, not what one renders to.
func resultKey(t source.Tree, ov Overlay, files []string, cl *closure, o Options) cacheKey {
	h := sha256.New()
	str := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	flag := func(b bool) {
		if b {
			num(1)
		} else {
			num(0)
		}
	}
	str(keyVersion)
	str(ov.Path)
	flag(ov.Kustomize)
	lim := o.Limits.withDefaults()
	num(lim.MaxFileBytes)
	num(lim.MaxRenderedBytes)
	num(int64(lim.MaxResources))
	num(int64(lim.Timeout))
	num(int64(len(o.RemoteBases)))
	for _, rb := range o.RemoteBases {
		str(rb)
	}
	flag(o.StrictRoot)
	str(o.OutsideHint)
	num(int64(len(files)))
	for _, f := range files {
		str(f)
		data, err := fs.ReadFile(t, f)
		flag(err == nil)
		if err == nil {
			sum := sha256.Sum256(data)
			h.Write(sum[:])
		}
	}
	if cl != nil {
		// Derived from the files above, but hashed all the same: the key
		// then covers what renderClosure reads from the closure even if
		// the way it is derived changes.
		num(int64(len(cl.resources)))
		for _, r := range cl.resources {
			str(r)
		}
		num(int64(len(cl.skipped)))
		for _, s := range cl.skipped {
			str(s.Path)
			num(int64(s.Line))
			num(int64(s.EndLine))
			str(s.What)
			str(s.Why)
			num(int64(len(s.Inputs)))
			for _, in := range s.Inputs {
				str(in)
			}
		}
	}
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// approxBytes estimates the memory a result holds: its objects' decoded
// bodies and the YAML nodes they keep for lines. It errs high: YAML nodes
// that results of one diff share count in each, and a fifth is added for
// what it does not see.
func approxBytes(res *Result, err error) int64 {
	n := int64(256)
	if err != nil {
		n += int64(len(err.Error()))
	}
	if res == nil {
		return n
	}
	seen := map[*yaml.Node]bool{}
	for _, o := range res.Objects {
		n += int64(unsafe.Sizeof(*o)) + 256 // the object and its written lines
		n += valueBytes(o.Body)
		n += nodeBytes(o.Source(), seen)
	}
	for _, p := range res.Problems {
		n += int64(unsafe.Sizeof(*p)) + int64(len(p.Path)) + 64
		if p.Err != nil {
			n += int64(len(p.Err.Error()))
		}
	}
	for _, s := range res.Skipped {
		n += int64(unsafe.Sizeof(s)) + int64(len(s.Path)+len(s.What)+len(s.Why))
		for _, in := range s.Inputs {
			n += 16 + int64(len(in))
		}
	}
	for _, tpl := range res.Templates {
		n += 16 + int64(len(tpl))
	}
	// Allocation size classes and the lines objects record round every
	// allocation up; measured on real releases (kube-prometheus,
	// cluster-api) the sum above is 5-10% under the heap the results hold.
	return n + n/5
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

func nodeBytes(y *yaml.Node, seen map[*yaml.Node]bool) int64 {
	if y == nil || seen[y] {
		return 0
	}
	seen[y] = true
	n := int64(unsafe.Sizeof(*y)) + int64(len(y.Value)+len(y.Tag)+len(y.HeadComment)+len(y.LineComment)+len(y.FootComment)) + 8*int64(cap(y.Content))
	for _, c := range y.Content {
		n += nodeBytes(c, seen)
	}
	return n
}
