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

	"github.com/rbacguard/rbacguard/diff/source"
)

// ResultCache keeps rendered overlays, keyed by a content hash of
// everything a render reads, so that pull requests against one base
// commit render the base's overlays once. It is safe for concurrent use:
// two renders of the same inputs at once render once, the second waiting
// for the first.
//
// It is bounded in bytes, an estimate of what the results hold (sizes.go)
// in which objects and parsed YAML that several results share count once.
// Eviction is a segmented LRU: a result enters on probation and is
// protected once it is used again, so that a stream of pull request heads,
// each rendered once, never pushes out the base renders every one of them
// reuses. Probation is evicted first, least recently used first. When the
// cache is full a new result is kept only if its inputs had been asked
// for more often than those of the result it would push out (a count per
// key that halves as it grows, as TinyLFU keeps): when the overlays of a
// pull request need more than the whole bound, the cache keeps the ones
// it holds for the next pull request, rather than each render pushing out
// the one the next pull request needs first.
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

	mu        sync.Mutex
	bytes     int64
	probation segment // entered once, not used since
	protected segment // used again: at most protectedShare of max
	entries   map[cacheKey]*list.Element
	shared    map[any]*sharedPart // what results hold in common, by pointer
	inflight  map[cacheKey]chan struct{}
	asked     map[cacheKey]uint8 // lookups per key, halved when it grows
	stats     CacheStats
}

// maxAsked bounds the lookup counts kept (about 50 bytes each).
const maxAsked = 1 << 15

// protectedShare is the part of the bound results used twice may hold:
// the rest leaves room for new results to prove themselves.
const protectedShare = 0.8

// segment is a list of *cached, most recently used first, and the bytes
// its results would hold alone.
type segment struct {
	l     *list.List
	bytes int64
}

// sharedPart is an object or a parsed document held by n results.
type sharedPart struct {
	n     int
	bytes int64
}

// CacheStats count what a ResultCache did since it was made.
type CacheStats struct {
	Hits, Misses int64 // renders answered from the cache, and not
	// Uncacheable are renders of overlays whose inputs could not all be
	// followed: rendered, never stored.
	Uncacheable int64
	Evictions   int64 // results dropped to stay within the bound
	// Declined are results not kept: larger than the bound, or asked for
	// no more often than the result they would have pushed out.
	Declined int64
	Entries  int   // results held now
	Bytes    int64 // their estimated size
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
	key       cacheKey
	res       *Result
	err       error
	size      resultSize
	protected bool
}

// NewResultCache returns a cache holding at most maxBytes of results.
func NewResultCache(maxBytes int64) *ResultCache {
	return &ResultCache{max: maxBytes, probation: segment{l: list.New()}, protected: segment{l: list.New()},
		entries: map[cacheKey]*list.Element{}, shared: map[any]*sharedPart{}, inflight: map[cacheKey]chan struct{}{}, asked: map[cacheKey]uint8{}}
}

// Stats returns the cache's counters; nil reports zeros.
func (c *ResultCache) Stats() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes = len(c.entries), c.bytes
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
	for asked := false; ; asked = true {
		c.mu.Lock()
		if !asked {
			c.ask(key)
		}
		if el, ok := c.entries[key]; ok {
			e := c.use(el)
			c.stats.Hits++
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
	if cacheable(err) && (res == nil || !res.loadDependent) {
		e.size = sizeOf(res, err)
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

// use moves a result used again to the front of the protected segment,
// and the protected results beyond its share back to probation. c.mu is
// held.
func (c *ResultCache) use(el *list.Element) *cached {
	e := el.Value.(*cached)
	if e.protected {
		c.protected.l.MoveToFront(el)
		return e
	}
	c.probation.remove(el)
	e.protected = true
	c.entries[e.key] = c.protected.push(e)
	for c.protected.bytes > int64(protectedShare*float64(c.max)) && c.protected.l.Len() > 1 {
		old := c.protected.l.Back()
		oe := old.Value.(*cached)
		c.protected.remove(old)
		oe.protected = false
		c.entries[oe.key] = c.probation.push(oe)
	}
	return e
}

// ask counts a lookup of key. c.mu is held.
func (c *ResultCache) ask(key cacheKey) {
	if len(c.asked) >= maxAsked {
		for k, n := range c.asked {
			if n /= 2; n == 0 {
				delete(c.asked, k)
			} else {
				c.asked[k] = n
			}
		}
	}
	if n := c.asked[key]; n < 255 {
		c.asked[key] = n + 1
	}
}

// store adds e on probation and evicts results beyond the bound, from
// probation first, as long as e was asked for more often than each; else
// e is not kept. c.mu is held.
func (c *ResultCache) store(e *cached) {
	if e.size.total() > c.max {
		c.stats.Declined++
		return
	}
	for c.bytes+c.adds(e) > c.max {
		victim := c.probation.l.Back()
		if victim == nil {
			victim = c.protected.l.Back()
		}
		if victim == nil {
			break
		}
		// Before this lookup, as the victim has not been asked for yet
		// in this round of renders: a result that a repeated sequence
		// asks for later must not push out one it asks for earlier.
		if before := int(c.asked[e.key]) - 1; before <= int(c.asked[victim.Value.(*cached).key]) {
			c.stats.Declined++
			return
		}
		c.evict(victim)
	}
	c.entries[e.key] = c.probation.push(e)
	c.bytes += e.size.own
	for _, p := range e.size.parts {
		sp := c.shared[p.key]
		if sp == nil {
			sp = &sharedPart{bytes: p.bytes}
			c.shared[p.key] = sp
			c.bytes += p.bytes
		}
		sp.n++
	}
}

// adds is what storing e would add: what it holds alone, and the parts
// no result in the cache shares yet. c.mu is held.
func (c *ResultCache) adds(e *cached) int64 {
	n := e.size.own
	for _, p := range e.size.parts {
		if c.shared[p.key] == nil {
			n += p.bytes
		}
	}
	return n
}

// evict drops one result, and what it alone held. c.mu is held.
func (c *ResultCache) evict(el *list.Element) {
	e := el.Value.(*cached)
	if e.protected {
		c.protected.remove(el)
	} else {
		c.probation.remove(el)
	}
	delete(c.entries, e.key)
	c.bytes -= e.size.own
	for _, p := range e.size.parts {
		sp := c.shared[p.key]
		if sp.n--; sp.n == 0 {
			delete(c.shared, p.key)
			c.bytes -= sp.bytes
		}
	}
	c.stats.Evictions++
}

func (s *segment) push(e *cached) *list.Element {
	s.bytes += e.size.total()
	return s.l.PushFront(e)
}

func (s *segment) remove(el *list.Element) {
	s.bytes -= el.Value.(*cached).size.total()
	s.l.Remove(el)
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
// render and how many at once, not what one renders to; the default
// namespace is applied to rendered objects later (package diff), so it is
// no input of a render. The code's version is keyVersion's concern.
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
		num(int64(len(cl.charts)))
		for _, e := range cl.charts { // a fetched chart is no file of the tree
			str(e.Path)
			str(e.Name)
			str(e.Repo)
			str(e.Digest)
			str(e.ValuesDigest)
			str(e.Mount)
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
