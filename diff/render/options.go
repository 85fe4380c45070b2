package render

import (
	"time"

	"github.com/rbacguard/rbacguard/diff/helm"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/remote"
)

// Options tune discovery and rendering.
type Options struct {
	// RemoteBases are URL prefixes a kustomization may load from, added
	// to Remote.Prefixes. Empty (the default), with Remote.Allow empty,
	// refuses every remote base.
	RemoteBases []string
	// Remote says which remote bases and resources rbacguard fetches
	// itself (package remote: HTTPS archives at a pinned ref, never git).
	Remote remote.Options
	// Include and Exclude are globs over overlay paths ("*" within a path
	// element, "**" across them). With Include set only matching overlays
	// are rendered; Exclude removes overlays after that.
	Include, Exclude []string
	// Selections are further globs (the policy's, an Action input's): an
	// overlay is rendered when it passes all of them.
	Selections []Selection
	// Limits bound one overlay's rendering.
	Limits Limits
	// Workers bounds how many renders run at once (0: GOMAXPROCS).
	Workers int
	// MemoryBudget bounds the bytes of input the renders running at once
	// may read together (0: DefaultMemoryBudget): concurrency is bounded
	// by memory as well as by cores.
	MemoryBudget int64
	// StrictRoot makes a reference leaving the tree an error rather than a
	// skipped input: the tree is a directory the user chose, which may be
	// narrower than the repository, and OutsideHint says how to widen it.
	StrictRoot  bool
	OutsideHint string
	// Helm renders the overlays' Helm charts (nil: helm.Default()).
	Helm *helm.Renderer
	// ResultCache, when set, reuses the result of rendering the same
	// overlay from the same inputs (ResultCache): the App holds one for
	// every pull request it checks. Nil renders every time.
	ResultCache *ResultCache

	// cache shares decoded plain documents between base and head, and
	// between Plan and RenderEach (see Shared).
	cache *manifest.Cache
	// fetcher fetches remote entries once per run (see Shared).
	fetcher *remote.Fetcher
}

// Shared returns o with a cache of decoded documents, for one diff: Plan
// and RenderEach given the result decode each document once.
func (o Options) Shared() Options {
	o.cache = manifest.NewCache()
	o.fetcher = o.newFetcher()
	return o
}

// Limits bound what rendering one overlay may cost, so that a hostile pull
// request ends in a render error rather than exhausting the runner. Zero
// values take DefaultLimits' value.
type Limits struct {
	MaxFileBytes     int64         // any one input file
	MaxRenderedBytes int64         // the overlay's inputs, and its rendered output
	MaxResources     int           // objects one overlay may render to
	Timeout          time.Duration // wall time of one overlay
}

// DefaultLimits fit any real overlay with a wide margin.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: 8 << 20, MaxRenderedBytes: 256 << 20, MaxResources: 50_000, Timeout: time.Minute}
}

// DefaultOptions render only what the tree holds, within DefaultLimits.
func DefaultOptions() Options { return Options{Limits: DefaultLimits()} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxRenderedBytes <= 0 {
		l.MaxRenderedBytes = d.MaxRenderedBytes
	}
	if l.MaxResources <= 0 {
		l.MaxResources = d.MaxResources
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}
