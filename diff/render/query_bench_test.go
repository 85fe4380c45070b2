package render_test

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

// renderMonorepo renders every overlay of the 200-overlay monorepo once.
func renderMonorepo(b *testing.B) []query.Overlay {
	t := memTree(b, monorepo())
	var out []query.Overlay
	pairs, _ := render.Plan(source.Empty(""), t, render.DefaultOptions())
	for _, r := range render.RenderAll(context.Background(), source.Empty(""), t, pairs, render.DefaultOptions()) {
		if r.HeadErr != nil {
			b.Fatal(r.HeadErr)
		}
		out = append(out, query.Overlay{Path: r.Path, Objects: r.Head.Objects})
	}
	return out
}

// BenchmarkWhoCan_Monorepo asks who can get configmaps in one namespace of
// each of the 200 rendered overlays (20,000 objects): the question alone,
// graph built per overlay, as rbacguard who-can does after rendering.
func BenchmarkWhoCan_Monorepo(b *testing.B) {
	ovs := renderMonorepo(b)
	r, err := query.ParseRequest("get", "configmaps", "", "ns-7", "", "")
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC() // the rendering's garbage is not the question's
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		found := 0
		for _, ov := range ovs {
			for _, h := range query.WhoCan(ov, r, query.Options{}).Subjects {
				if h.Subject.Kind == "ServiceAccount" && h.Subject.Namespace == "ns-7" {
					found++
				}
			}
		}
		if found != 50 {
			b.Fatalf("%d accounts of ns-7 can, want 50", found)
		}
	}
}

// BenchmarkWhoCan_MonorepoRendered is the same with rendering all 200
// overlays in the loop: what the command costs end to end (kustomize
// dominates it).
func BenchmarkWhoCan_MonorepoRendered(b *testing.B) {
	t := memTree(b, monorepo())
	r, _ := query.ParseRequest("get", "configmaps", "", "ns-7", "", "")
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		found := 0
		pairs, _ := render.Plan(source.Empty(""), t, render.DefaultOptions())
		render.RenderEach(context.Background(), source.Empty(""), t, pairs, render.DefaultOptions(), func(p render.Rendered) {
			if p.HeadErr != nil {
				b.Fatal(p.HeadErr)
			}
			found += len(query.WhoCan(query.Overlay{Path: p.Path, Objects: p.Head.Objects}, r, query.Options{}).Subjects)
		})
		if found == 0 {
			b.Fatal("nobody can")
		}
	}
}

// reportCPU adds the process's CPU time per operation (see the same
// helper in diff/query's benchmarks): on a shared machine ns/op measures
// the neighbours too.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
