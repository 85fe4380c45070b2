package render

import (
	"io/fs"
	"sync"

	"github.com/rbacguard/rbacguard/diff/source"
)

// DefaultMemoryBudget bounds, in bytes of input YAML, what the render pool
// works on at once. Rendered and decoded, YAML takes some twenty to forty
// times its size (kustomize's node trees, then rbacguard's objects), so
// this keeps a large repository's diff within a few hundred megabytes:
// small overlays render side by side, the two sides of argo-cd's 3 MB
// install one after the other. One overlay larger than the budget still
// renders, alone.
const DefaultMemoryBudget = 4 << 20

// budget is a counting semaphore over bytes: renders acquire what their
// inputs weigh and wait while the pool holds too much.
type budget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	left  int64
	total int64
}

func newBudget(total int64) *budget {
	b := &budget{left: total, total: total}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire waits until n bytes (at most the whole budget) are free and
// takes them; it returns what was taken, for release.
func (b *budget) acquire(n int64) int64 {
	n = min(max(n, 0), b.total)
	b.mu.Lock()
	for b.left < n {
		b.cond.Wait()
	}
	b.left -= n
	b.mu.Unlock()
	return n
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// inputBytes is the bytes of the files c reads in t (those that could be
// followed; nil reads nothing).
func inputBytes(t source.Tree, c *closure) int64 {
	if c == nil {
		return 0
	}
	var n int64
	for _, f := range c.files {
		if info, err := fs.Stat(t, f); err == nil {
			n += info.Size()
		}
	}
	return n
}
