package render

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/rbacguard/rbacguard/diff/source"
)

// Pair statuses.
const (
	Added     = "added"
	Removed   = "removed"
	Changed   = "changed"
	Unchanged = "unchanged"
)

// Pair is one overlay path at base and head and what the change did to it.
type Pair struct {
	Path       string
	Base, Head *Overlay // nil where the overlay does not exist
	Status     string   // Added, Removed, Changed or Unchanged
}

// Plan pairs the overlays of base and head by path and marks each pair
// Changed when any input it reads at either commit differs between them,
// Unchanged otherwise. Inputs are followed through every kustomization
// field; an overlay whose inputs cannot be followed to the end is Changed,
// so that doubt renders rather than hides.
func Plan(base, head source.Tree, o Options) []Pair {
	if o.cache == nil {
		o = o.Shared()
	}
	ovs := discover(o, base, head)
	pairs := pairOverlays(ovs[0], ovs[1])
	changed := changedFiles(base, head)
	for i := range pairs {
		p := &pairs[i]
		switch {
		case p.Base == nil:
			p.Status = Added
		case p.Head == nil:
			p.Status = Removed
		case affected(base, *p.Base, head, *p.Head, o, changed):
			p.Status = Changed
		default:
			p.Status = Unchanged
		}
	}
	return pairs
}

// affected reports whether any input of the overlay, at base or head,
// changed. An overlay whose inputs cannot be followed at a side is
// affected, unless it stops at the same error on both sides before
// reaching any changed file (a refused remote base the change did not
// touch is reported once, when it is added, not on every pull request).
func affected(base source.Tree, bo Overlay, head source.Tree, ho Overlay, o Options, changed map[string]bool) bool {
	if len(changed) == 0 {
		return false
	}
	bf, berr := inputs(base, bo, o)
	hf, herr := inputs(head, ho, o)
	if (berr == nil) != (herr == nil) || berr != nil && berr.Error() != herr.Error() {
		return true
	}
	hit := func(f string) bool { return changed[f] }
	return slices.ContainsFunc(bf, hit) || slices.ContainsFunc(hf, hit)
}

func inputs(t source.Tree, ov Overlay, o Options) ([]string, error) {
	if !ov.Kustomize {
		return ov.Files, nil
	}
	c, err := follow(t, ov.Path, o)
	if err == nil && c.unsure {
		err = errUnsure
	}
	return c.files, err
}

var errUnsure = errors.New("inputs could not be followed")

// changedFiles lists the files added, removed or modified between a and b.
func changedFiles(a, b source.Tree) map[string]bool {
	out := map[string]bool{}
	for _, f := range a.Files() {
		da, _ := fs.ReadFile(a, f)
		db, err := fs.ReadFile(b, f)
		if err != nil || !bytes.Equal(da, db) {
			out[f] = true
		}
	}
	for _, f := range b.Files() {
		if _, err := fs.Stat(a, f); err != nil {
			out[f] = true
		}
	}
	return out
}

// pairOverlays matches the overlays of base and head by path, sorted.
func pairOverlays(base, head []Overlay) []Pair {
	byPath := map[string]*Pair{}
	for i := range base {
		byPath[base[i].Path] = &Pair{Path: base[i].Path, Base: &base[i]}
	}
	for i := range head {
		p, ok := byPath[head[i].Path]
		if !ok {
			p = &Pair{Path: head[i].Path}
			byPath[head[i].Path] = p
		}
		p.Head = &head[i]
	}
	out := make([]Pair, 0, len(byPath))
	for _, k := range sortedKeys(byPath) {
		out = append(out, *byPath[k])
	}
	return out
}

// Rendered is a pair with what each side rendered to. An Unchanged pair
// is not rendered; a side that does not exist has neither result nor
// error.
type Rendered struct {
	Pair
	Base, Head       *Result
	BaseErr, HeadErr error
}

// RenderAll renders both sides of every pair that is not Unchanged on a
// pool of o.Workers goroutines (base and head at once) and returns them in
// the order of pairs.
func RenderAll(ctx context.Context, base, head source.Tree, pairs []Pair, o Options) []Rendered {
	out := make([]Rendered, 0, len(pairs))
	RenderEach(ctx, base, head, pairs, o, func(r Rendered) { out = append(out, r) })
	return out
}

// RenderEach renders like RenderAll and hands each pair to fn, in the
// order of pairs, as soon as it and every pair before it are done. The
// pool renders at most a few pairs ahead of fn, so that a caller keeping
// only what it derives from each holds a few overlays' objects at a time,
// however many the repository has.
func RenderEach(ctx context.Context, base, head source.Tree, pairs []Pair, o Options, fn func(Rendered)) {
	if o.cache == nil {
		o = o.Shared()
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]Rendered, len(pairs))
	ready := make([]chan struct{}, len(pairs)) // closed when both sides are rendered
	pending := make([]atomic.Int32, len(pairs))
	type job struct {
		i      int
		isHead bool
	}
	next := make(chan job)
	for range workers {
		go func() {
			for j := range next {
				r := &out[j.i]
				if j.isHead {
					r.Head, r.HeadErr = Render(ctx, head, *r.Pair.Head, o)
				} else {
					r.Base, r.BaseErr = Render(ctx, base, *r.Pair.Base, o)
				}
				if pending[j.i].Add(-1) == 0 {
					close(ready[j.i])
				}
			}
		}()
	}
	ahead := make(chan struct{}, 4*workers) // pairs dispatched, not yet handed to fn
	for i, p := range pairs {
		out[i].Pair = p
		ready[i] = make(chan struct{})
	}
	go func() {
		defer close(next)
		for i, p := range pairs {
			ahead <- struct{}{}
			var sides []job
			if p.Status != Unchanged {
				if p.Base != nil {
					sides = append(sides, job{i, false})
				}
				if p.Head != nil {
					sides = append(sides, job{i, true})
				}
			}
			if len(sides) == 0 {
				close(ready[i])
				continue
			}
			pending[i].Store(int32(len(sides)))
			for _, j := range sides {
				next <- j
			}
		}
	}()
	for i := range pairs {
		<-ready[i]
		fn(out[i])
		out[i] = Rendered{} // release its objects
		<-ahead
	}
}
