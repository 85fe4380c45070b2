package render_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

// BenchmarkRenderPlain decodes 20,000 plain YAML documents in 100 files.
func BenchmarkRenderPlain(b *testing.B) {
	t := source.NewMem("gen", source.Limits{})
	for f := 0; f < 100; f++ {
		var sb strings.Builder
		for i := 0; i < 100; i++ {
			fmt.Fprintf(&sb, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r-%d\n  namespace: ns\nrules:\n- apiGroups: [\"\"]\n  resources: [\"configmaps\", \"services\"]\n  verbs: [\"get\", \"list\", \"watch\"]\n---\n", i)
			fmt.Fprintf(&sb, "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: b-%d\n  namespace: ns\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: r-%d\nsubjects:\n- kind: ServiceAccount\n  name: sa-%d\n---\n", i, i, i)
		}
		if err := t.Add(fmt.Sprintf("f%03d.yaml", f), []byte(sb.String())); err != nil {
			b.Fatal(err)
		}
	}
	ov := render.Overlays(t)[0]
	b.ReportAllocs()
	for b.Loop() {
		res, err := render.Render(context.Background(), t, ov, render.DefaultOptions())
		if err != nil || len(res.Objects) != 20_000 {
			b.Fatalf("%v, %d objects", err, len(res.Objects))
		}
	}
}
