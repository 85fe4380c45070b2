package render_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

var (
	monorepoDir = flag.String("monorepo", "", "TestWriteMonorepo writes the generated monorepo here (scripts/bench-render.sh)")
	overlaysOf  = flag.String("overlays", "", "TestListOverlays prints the kustomize overlays of this directory (scripts/bench-render.sh)")
)

// monorepo generates 20 shared bases of 100 RBAC objects each and 200
// overlays over them (overlay i uses base i%20, with a namespace, a name
// prefix and a strategic-merge patch): 20,000 rendered resources.
func monorepo() map[string]string {
	files := map[string]string{}
	for b := range 20 {
		var sb strings.Builder
		for i := range 50 {
			fmt.Fprintf(&sb, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r-%d\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps, services]\n  verbs: [get, list, watch]\n---\n", i)
			fmt.Fprintf(&sb, "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: b-%d\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: r-%d\nsubjects:\n- kind: ServiceAccount\n  name: sa-%d\n---\n", i, i, i)
		}
		files[fmt.Sprintf("bases/b%02d/kustomization.yaml", b)] = "resources: [rbac.yaml]\n"
		files[fmt.Sprintf("bases/b%02d/rbac.yaml", b)] = sb.String()
	}
	for o := range 200 {
		files[fmt.Sprintf("overlays/o%03d/kustomization.yaml", o)] = fmt.Sprintf("resources: [../../bases/b%02d]\nnamespace: ns-%d\nnamePrefix: o%d-\npatches:\n- path: patch.yaml\n", o%20, o, o)
		files[fmt.Sprintf("overlays/o%03d/patch.yaml", o)] = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r-0\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n"
	}
	return files
}

// TestWriteMonorepo writes the benchmark repository to -monorepo.
func TestWriteMonorepo(t *testing.T) {
	if *monorepoDir == "" {
		t.Skip("set -monorepo DIR")
	}
	for name, data := range monorepo() {
		p := filepath.Join(*monorepoDir, filepath.FromSlash(name))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(data), 0o644))
	}
}

// TestListOverlays prints the overlays of -overlays for the script.
func TestListOverlays(t *testing.T) {
	if *overlaysOf == "" {
		t.Skip("set -overlays DIR")
	}
	tr, err := source.Dir(*overlaysOf, source.DefaultLimits())
	must(t, err)
	for _, ov := range render.Overlays(tr) {
		if ov.Kustomize {
			fmt.Printf("overlay %s\n", ov.Path)
		}
	}
}

func benchPlan(b *testing.B, change func(map[string]string), wantObjects int) {
	files := monorepo()
	base := memTree(b, files)
	head := maps.Clone(files)
	change(head)
	ht := memTree(b, head)
	b.ReportAllocs()
	for b.Loop() {
		pairs, _ := render.Plan(base, ht, render.DefaultOptions())
		n := 0
		for _, r := range render.RenderAll(context.Background(), base, ht, pairs, render.DefaultOptions()) {
			if r.BaseErr != nil || r.HeadErr != nil {
				b.Fatal(r.BaseErr, r.HeadErr)
			}
			for _, res := range []*render.Result{r.Base, r.Head} {
				if res != nil {
					n += len(res.Objects)
				}
			}
		}
		if n != wantObjects {
			b.Fatalf("rendered %d objects, want %d", n, wantObjects)
		}
	}
}

// BenchmarkMonorepoAll renders base and head of all 200 overlays (every
// shared base changed): 40,000 objects.
func BenchmarkMonorepoAll(b *testing.B) {
	benchPlan(b, func(f map[string]string) {
		for k := range f {
			if strings.HasSuffix(k, "rbac.yaml") {
				f[k] += "# changed\n"
			}
		}
	}, 40_000)
}

// BenchmarkMonorepoOneChange changes one overlay's patch: Plan finds it
// and only it is rendered, at base and head.
func BenchmarkMonorepoOneChange(b *testing.B) {
	benchPlan(b, func(f map[string]string) {
		f["overlays/o007/patch.yaml"] += "# changed\n"
	}, 200)
}

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
