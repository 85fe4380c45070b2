package render

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/rbacguard/rbacguard/diff/change"
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
	// Touched says the change reached the overlay: an input it reads was
	// added, removed or modified, or an input it skips came or went. A
	// Changed pair that is not Touched is rendered only because its inputs
	// could not all be followed; what fails in it then fails at base too.
	Touched bool
	// StandsInFor names the overlay that cannot be rendered and that this
	// kustomization, one of its inputs, is checked in place of.
	StandsInFor string
	// BuiltOn are, for a kustomize overlay new at head, the
	// kustomizations it builds on that existed at base: its base side is
	// what they render to there, so that only what it adds or changes is
	// new. Empty when it builds on nothing that existed: then it is
	// compared with nothing, in full.
	BuiltOn []BuiltOn
	// Placement are the new overlay's namespace, namePrefix and
	// nameSuffix, applied to what it builds on before comparing.
	Placement map[string]string
	// weight is what rendering the pair is expected to hold, the bytes of
	// the files it reads (see budget.go); zero when nothing renders.
	weight int64
}

// Plan pairs the overlays of base and head by path and marks each pair
// Changed when any input it reads at either commit differs between them,
// Unchanged otherwise. Inputs are followed through every kustomization
// field. Unchanged is a promise that every input is known and identical
// at both commits (a skipped input is known by its entry, the same URL or
// chart at both, and by the files it names: values files, the chart's
// directory, a function's config): an overlay whose inputs cannot be followed to the end
// is Changed, so that doubt renders rather than hides.
//
// The error is a *SelectionError when a selection of o selects nothing.
func Plan(base, head source.Tree, o Options) ([]Pair, error) {
	if o.cache == nil {
		o = o.Shared()
	}
	ovs, err := discover(o, base, head)
	if err != nil {
		return nil, err
	}
	pairs := pairOverlays(ovs[0], ovs[1])
	changed := change.Between(base, head).Files()
	for i := range pairs {
		pairs[i].plan(base, head, o, changed)
	}
	return pairs, nil
}

// plan sets the pair's status and whether the change touched it.
func (p *Pair) plan(base, head source.Tree, o Options, changed map[string]bool) {
	switch {
	case p.Base == nil:
		p.Status, p.Touched = Added, true
		if p.Head.Kustomize {
			if p.BuiltOn = builtOn(base, head, p.Path); len(p.BuiltOn) > 0 {
				p.Placement = placement(head, p.Path)
			}
		}
	case p.Head == nil:
		p.Status, p.Touched = Removed, true
	default:
		bi, bErr := inputs(base, *p.Base, o)
		hi, hErr := inputs(head, *p.Head, o)
		known, touched := bErr == nil && hErr == nil, affected(bi, hi, changed)
		p.Status, p.Touched = Unchanged, touched
		if touched || !known {
			p.Status, p.weight = Changed, inputBytes(base, bi)+inputBytes(head, hi)
		}
		return
	}
	// Added or removed: what its one side reads (a new overlay built on
	// others renders those too, about as much again).
	if p.Head != nil {
		c, _ := inputs(head, *p.Head, o)
		p.weight = inputBytes(head, c) * int64(1+min(len(p.BuiltOn), 1))
	} else {
		c, _ := inputs(base, *p.Base, o)
		p.weight = inputBytes(base, c)
	}
}

// affected reports whether the change touched an input of the overlay
// whose inputs at base and head are bi and hi: a file it reads at either
// commit changed, the inputs it skips differ, or a file a skipped input
// names (a chart's values file, its directory) changed.
func affected(bi, hi *closure, changed map[string]bool) bool {
	hit := func(f string) bool { return changed[f] }
	return slices.ContainsFunc(bi.files, hit) || slices.ContainsFunc(hi.files, hit) || !sameSkips(bi.skipped, hi.skipped) ||
		slices.ContainsFunc(bi.cutInputs(), hit) || slices.ContainsFunc(hi.cutInputs(), hit) ||
		!sameRemotes(bi.remotes, hi.remotes) || !sameCharts(bi.charts, hi.charts)
}

// sameSkips compares skipped inputs by what and why (their lines move with
// unrelated edits, which the changed files already count).
func sameSkips(a, b []Skipped) bool {
	return slices.EqualFunc(a, b, func(x, y Skipped) bool { return x.Path == y.Path && x.What == y.What && x.Why == y.Why })
}

// inputs follows the overlay's inputs; for a plain overlay, its files.
func inputs(t source.Tree, ov Overlay, o Options) (*closure, error) {
	if !ov.Kustomize {
		return &closure{files: ov.Files}, nil
	}
	c, err := follow(t, ov.Path, o)
	if err == nil && c.unsure {
		err = errUnsure
	}
	return c, err
}

var errUnsure = errors.New("inputs could not be followed")

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

// RenderEach renders both sides of every pair that is not Unchanged on a
// pool of o.Workers goroutines (base and head at once, as the memory
// budget allows: o.MemoryBudget bytes of input in flight) and hands each pair
// to fn, in the order of pairs, as soon as it and every pair before it are
// done. The pool renders at most a few pairs ahead of fn, so that a caller
// keeping only what it derives from each holds a few overlays' objects at
// a time, however many the repository has.
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
	mem := newBudget(cmp.Or(o.MemoryBudget, DefaultMemoryBudget))
	held := make([]int64, len(pairs)) // budget each pair holds, written before its jobs are sent
	sideDone := make([]chan struct{}, len(pairs))
	for i := range sideDone {
		sideDone[i] = make(chan struct{}, 1) // the first side of a pair is done
	}
	for range workers {
		go func() {
			for j := range next {
				r := &out[j.i]
				switch {
				case j.isHead:
					r.Head, r.HeadErr = Render(ctx, head, *r.Pair.Head, o)
				case r.Pair.Base == nil:
					r.Base, r.BaseErr = renderBuiltOn(ctx, base, r.Pair, o)
				default:
					r.Base, r.BaseErr = Render(ctx, base, *r.Pair.Base, o)
				}
				if pending[j.i].Add(-1) == 0 {
					close(ready[j.i])
				} else {
					sideDone[j.i] <- struct{}{}
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
				if p.Base != nil || len(p.BuiltOn) > 0 {
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
			// A pair holds its share of the budget from its dispatch, in
			// order, until fn is done with it: what is rendered ahead is
			// memory too, and taking it in order cannot deadlock.
			held[i] = mem.acquire(p.weight)
			pending[i].Store(int32(len(sides)))
			// A pair that weighs half the budget or more renders one side
			// after the other: kustomize holds some forty times its
			// input, and two sides of a large bundle at once were most of
			// a large diff's peak.
			heavy := held[i]*2 >= mem.total && len(sides) == 2
			for k, j := range sides {
				if heavy && k == 1 {
					<-sideDone[i]
				}
				next <- j
			}
		}
	}()
	for i := range pairs {
		<-ready[i]
		fn(out[i])
		out[i] = Rendered{} // release its objects
		mem.release(held[i])
		<-ahead
	}
}

// StandIns returns, for overlays whose head cannot be rendered, the
// kustomizations each uses directly (resources and bases, not components,
// which kustomize cannot build alone) as pairs of their own, so that a
// broken top overlay does not hide the changes of what it includes. Each
// is planned like an overlay and names the overlay it stands in for; paths
// in done are left out, and the returned ones added to it.
func StandIns(base, head source.Tree, broken []Pair, done map[string]bool, o Options) []Pair {
	if o.cache == nil {
		o = o.Shared()
	}
	changed := change.Between(base, head).Files()
	var out []Pair
	for _, b := range broken {
		var refs []string
		for _, side := range []struct {
			t  source.Tree
			ov *Overlay
		}{{head, b.Head}, {base, b.Base}} {
			if side.ov == nil || !side.ov.Kustomize {
				continue
			}
			if file := kustomizationFile(side.t, side.ov.Path); file != "" {
				for _, ref := range kustomizationRefs(side.t, file) {
					refs = append(refs, path.Clean(path.Join(side.ov.Path, ref)))
				}
			}
		}
		for _, dir := range refs {
			if done[dir] || !fs.ValidPath(dir) {
				continue
			}
			bf, hf := kustomizationFile(base, dir), kustomizationFile(head, dir)
			if bf == "" && hf == "" || isComponent(base, bf) || isComponent(head, hf) {
				continue
			}
			done[dir] = true
			p := Pair{Path: dir, StandsInFor: b.Path}
			if bf != "" {
				p.Base = &Overlay{Path: dir, Kustomize: true}
			}
			if hf != "" {
				p.Head = &Overlay{Path: dir, Kustomize: true}
			}
			if p.plan(base, head, o, changed); p.Status != Unchanged { // else nothing of it changed
				out = append(out, p)
			}
		}
	}
	return out
}

// kustomizationFile returns the kustomization of dir in t, or "".
func kustomizationFile(t source.Tree, dir string) string {
	for _, name := range KustomizationNames {
		if info, err := fs.Stat(t, path.Join(dir, name)); err == nil && !info.IsDir() {
			return path.Join(dir, name)
		}
	}
	return ""
}

func isComponent(t source.Tree, file string) bool {
	if file == "" {
		return false
	}
	data, err := fs.ReadFile(t, file)
	return err == nil && bytes.Contains(data, []byte("kind: Component"))
}
