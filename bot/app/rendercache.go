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
// results declined, overlays that cannot be cached, and what the cache
// holds. They read the
// cache's counters when scraped; with the cache off they stay 0.
func renderCacheMetrics(c *render.ResultCache) []prometheus.Collector {
	type stat func(render.CacheStats) float64
	counters := []struct {
		name, help string
		v          stat
	}{
		{"hits_total", "Overlay renders answered from the cache of rendered overlays.", func(s render.CacheStats) float64 { return float64(s.Hits) }},
		{"misses_total", "Overlay renders the cache did not hold: rendered, then kept.", func(s render.CacheStats) float64 { return float64(s.Misses) }},
		{"uncacheable_total", "Overlay renders whose inputs could not all be followed: rendered, never kept.", func(s render.CacheStats) float64 { return float64(s.Uncacheable) }},
		{"evictions_total", "Rendered overlays dropped to stay within --render-cache-bytes.", func(s render.CacheStats) float64 { return float64(s.Evictions) }},
		{"declined_total", "Rendered overlays not kept: larger than --render-cache-bytes, or asked for no more often than what they would push out.", func(s render.CacheStats) float64 { return float64(s.Declined) }},
	}
	gauges := []struct {
		name, help string
		v          stat
	}{
		{"bytes", "Estimated bytes the cache of rendered overlays holds.", func(s render.CacheStats) float64 { return float64(s.Bytes) }},
		{"entries", "Rendered overlays the cache holds.", func(s render.CacheStats) float64 { return float64(s.Entries) }},
		{"hit_ratio", "Hits over hits and misses since the replica started (0 before any render).", render.CacheStats.HitRate},
	}
	var out []prometheus.Collector
	for _, m := range counters {
		out = append(out, prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "rbacguard", Subsystem: "render_cache", Name: m.name, Help: m.help},
			func() float64 { return m.v(c.Stats()) }))
	}
	for _, m := range gauges {
		out = append(out, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "rbacguard", Subsystem: "render_cache", Name: m.name, Help: m.help},
			func() float64 { return m.v(c.Stats()) }))
	}
	return out
}
