package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rbacguard/rbacguard/diff/render"
)

// newRenderCache is the process's cache of rendered overlays, or nil when
// Config.RenderCacheBytes is 0. Pull requests against one base commit
// render the base's overlays once: the second and later find them by the
// content hash of their inputs.
//
// It lives in memory, not on a volume: a result is decoded objects that
// point into parsed YAML for their lines, which would have to be encoded
// and decoded again to leave the process; a replica warms up within a few
// pull requests against a busy base; and a volume shared by replicas would
// need locking and a sweep of its own. Its bound counts in the pod's memory
// (deploy/deployment.yaml's limit).
func newRenderCache(cfg Config) *render.ResultCache {
	if cfg.RenderCacheBytes <= 0 {
		return nil
	}
	return render.NewResultCache(cfg.RenderCacheBytes)
}

// renderCacheMetrics are rbacguard_render_cache_*: hits, misses, evictions,
// overlays that cannot be cached, and what the cache holds. They read the
// cache's counters when scraped; with the cache off they stay 0.
func renderCacheMetrics(c *render.ResultCache) []prometheus.Collector {
	counter := func(name, help string, v func(render.CacheStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "rbacguard", Subsystem: "render_cache", Name: name, Help: help},
			func() float64 { return v(c.Stats()) })
	}
	gauge := func(name, help string, v func(render.CacheStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "rbacguard", Subsystem: "render_cache", Name: name, Help: help},
			func() float64 { return v(c.Stats()) })
	}
	return []prometheus.Collector{
		counter("hits_total", "Overlay renders answered from the cache of rendered overlays.",
			func(s render.CacheStats) float64 { return float64(s.Hits) }),
		counter("misses_total", "Overlay renders the cache did not hold: rendered, then kept.",
			func(s render.CacheStats) float64 { return float64(s.Misses) }),
		counter("uncacheable_total", "Overlay renders whose inputs could not all be followed: rendered, never kept.",
			func(s render.CacheStats) float64 { return float64(s.Uncacheable) }),
		counter("evictions_total", "Rendered overlays dropped to stay within --render-cache-bytes.",
			func(s render.CacheStats) float64 { return float64(s.Evictions) }),
		gauge("bytes", "Estimated bytes the cache of rendered overlays holds.",
			func(s render.CacheStats) float64 { return float64(s.Bytes) }),
		gauge("entries", "Rendered overlays the cache holds.",
			func(s render.CacheStats) float64 { return float64(s.Entries) }),
		gauge("hit_ratio", "Hits over hits and misses since the replica started (0 before any render).",
			func(s render.CacheStats) float64 { return s.HitRate() }),
	}
}
