package diff_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/escalation"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// genEscalationTree is genTree with paths to follow: in each of the 100
// namespaces one account (sa-100…sa-199) is bound to cluster-admin, and
// when changed is true one other account per namespace (sa-0…sa-99) may
// create pods there, so that 100 subjects can newly become cluster-admin
// (and each of the 99 other accounts of their namespace).
func genEscalationTree(n int, changed bool) *source.Mem {
	t := genTree(n, 100, false)
	var b strings.Builder
	for k := 0; k < 100; k++ {
		fmt.Fprintf(&b, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: admin-%d
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: sa-%d
  namespace: team-%02d
---
`, k, k+100, k)
		if !changed {
			continue
		}
		fmt.Fprintf(&b, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pods-%d
  namespace: team-%02d
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: pods-%d
  namespace: team-%02d
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: pods-%d
subjects:
- kind: ServiceAccount
  name: sa-%d
---
`, k, k, k, k, k, k)
	}
	if err := t.Add("rbac/escalation.yaml", []byte(b.String())); err != nil {
		panic(err)
	}
	return t
}

// BenchmarkRun_10kRoles_Escalation is BenchmarkRun_10kRoles where the
// change opens 100 escalation paths to cluster-admin: the closure is
// walked for every subject at head and, for the 100, at base.
func BenchmarkRun_10kRoles_Escalation(b *testing.B) {
	base, head := genEscalationTree(10_000, false), genEscalationTree(10_000, true)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := diff.Run(context.Background(), base, head, diff.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		if got := countKind(r, report.RBACEscalation); got != 100 {
			b.Fatalf("%d escalation findings, want 100", got)
		}
	}
}

// decodeTree reads every YAML file of t.
func decodeTree(b *testing.B, t *source.Mem) []*manifest.Object {
	var objs []*manifest.Object
	err := fs.WalkDir(t, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(t, p)
		if err != nil {
			return err
		}
		o, errs := manifest.Decode(p, data)
		if len(errs) > 0 {
			return errs[0]
		}
		objs = append(objs, o...)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return objs
}

// BenchmarkEscalation_10kRoles times the escalation stage alone (both
// models and the comparison) on the trees of BenchmarkRun_10kRoles and of
// BenchmarkRun_10kRoles_Escalation, the RBAC graphs built beforehand.
func BenchmarkEscalation_10kRoles(b *testing.B) {
	for _, tc := range []struct {
		name       string
		base, head *source.Mem
		want       int
	}{
		{"no paths", genTree(10_000, 100, false), genTree(10_000, 100, true), 0},
		{"100 new paths", genEscalationTree(10_000, false), genEscalationTree(10_000, true), 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bo, ho := decodeTree(b, tc.base), decodeTree(b, tc.head)
			bg, hg := rbac.Build(bo, rbac.Options{}), rbac.Build(ho, rbac.Options{})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				fs := escalation.Compare("rbac", escalation.Build(bg, bo, escalation.Options{}), escalation.Build(hg, ho, escalation.Options{}))
				if len(fs) != tc.want {
					b.Fatalf("%d findings, want %d", len(fs), tc.want)
				}
			}
		})
	}
}
