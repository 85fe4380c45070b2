package diff_test

import (
	"context"
	"fmt"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// genTree writes n Roles and n RoleBindings (one service account each,
// spread over 100 namespaces, 100 objects a file). Every role whose index
// is divisible by changeEvery gains a verb when changed is true.
func genTree(n, changeEvery int, changed bool) *source.Mem {
	t := source.NewMem("gen", source.Limits{})
	var b strings.Builder
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("team-%02d", i%100)
		verbs := `["get", "list", "watch"]`
		if changed && i%changeEvery == 0 {
			verbs = `["get", "list", "watch", "update"]`
		}
		fmt.Fprintf(&b, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: role-%d
  namespace: %s
rules:
- apiGroups: [""]
  resources: ["configmaps", "services"]
  verbs: %s
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: binding-%d
  namespace: %s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: role-%d
subjects:
- kind: ServiceAccount
  name: sa-%d
---
`, i, ns, verbs, i, ns, i, i)
		if i%100 == 99 || i == n-1 {
			if err := t.Add(fmt.Sprintf("rbac/file-%04d.yaml", i/100), []byte(b.String())); err != nil {
				panic(err)
			}
			b.Reset()
		}
	}
	return t
}

// BenchmarkRun_10kRoles is the performance goal of the core: one full diff
// of 10,000 roles and 10,000 bindings whose head differs in 1% of roles,
// under 1 s and 500 MB on two cores.
func BenchmarkRun_10kRoles(b *testing.B) {
	base, head := genTree(10_000, 100, false), genTree(10_000, 100, true)
	b.ReportAllocs()
	b.ResetTimer()
	defer peakHeap(b)()
	for b.Loop() {
		r, err := diff.Run(context.Background(), base, head, diff.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		// One finding per changed rule (update on configmaps and services).
		if got := countKind(r, report.RBACIncrease); got != 100 {
			b.Fatalf("%d increases, want 100", got)
		}
	}
}

// peakHeap samples the heap in use while the benchmark runs and, when the
// returned function is called, reports its peak (peak-heap-MiB): the
// memory a pod running the job must have, beyond Go's own overhead.
func peakHeap(b *testing.B) func() {
	done := make(chan struct{})
	var peak uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		// runtime/metrics reads without stopping the world (ReadMemStats
		// would, every tick, and slow what is measured).
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-sampled
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}

func countKind(r *report.Report, k report.Kind) int {
	n := 0
	for _, f := range r.Findings {
		if f.Kind == k {
			n++
		}
	}
	return n
}
