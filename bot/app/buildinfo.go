package app

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// newBuildInfo is rbacguard_build_info{version, goversion} 1: the usual
// Prometheus idiom for "which release is this replica running", joined
// onto other series by instance during a rollout.
func newBuildInfo(version string) prometheus.Collector {
	if version == "" {
		version = "unknown"
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "rbacguard", Name: "build_info",
		Help: "Always 1; the labels name the rbacguard release and the Go version that built it.",
	}, []string{"version", "goversion"})
	g.WithLabelValues(version, runtime.Version()).Set(1)
	return g
}
