package query

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// export10k is a cluster's export (kind: List, with the server's fields)
// of 10,000 Roles and 10,000 RoleBindings over 100 namespaces, one
// service account each.
func export10k() []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n")
	for i := range 10_000 {
		ns := fmt.Sprintf("team-%02d", i%100)
		fmt.Fprintf(&b, `- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata:
    creationTimestamp: "2026-01-12T09:14:03Z"
    managedFields:
    - apiVersion: rbac.authorization.k8s.io/v1
      fieldsType: FieldsV1
      fieldsV1:
        f:rules: {}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2026-01-12T09:14:03Z"
    name: role-%d
    namespace: %s
    resourceVersion: "%d"
    uid: 00000000-0000-4000-8000-%012d
  rules:
  - apiGroups: [""]
    resources: ["configmaps", "services"]
    verbs: ["get", "list", "watch"]
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["get"]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    name: binding-%d
    namespace: %s
    resourceVersion: "%d"
    uid: 00000000-0000-4000-9000-%012d
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: Role
    name: role-%d
  subjects:
  - kind: ServiceAccount
    name: sa-%d
    namespace: %s
`, i, ns, i, i, i, ns, i, i, i, i, ns)
	}
	return []byte(b.String())
}

// BenchmarkWhoCan_Export10k reads a 10,000-role export and asks who can
// get configmaps in one namespace: decoding, the graph and the answer.
func BenchmarkWhoCan_Export10k(b *testing.B) {
	data := export10k()
	r, _ := ParseRequest("get", "configmaps", "", "team-07", "", "")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		objs, errs := manifest.Decode("export.yaml", data)
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		ans := WhoCan(Overlay{Path: ".", Objects: objs}, r, Options{})
		n := 0
		for _, h := range ans.Subjects {
			if h.Subject.Kind == "ServiceAccount" && h.Subject.Namespace == "team-07" {
				n++
			}
		}
		if n != 100 {
			b.Fatalf("%d accounts of team-07 can, want 100", n)
		}
	}
}

// reportCPU adds the process's CPU time per operation to a benchmark's
// results: on a machine shared with other work, wall time (ns/op) says
// more about the neighbours than about the code. Call it deferred, after
// any set-up: reportCPU(b)() at the end of the benchmark.
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
