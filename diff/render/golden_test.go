package render_test

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

// TestMatchesKustomizeCLI renders every overlay of the sample repositories
// under testdata/render and compares the objects with what the kustomize
// CLI built for them (testdata/render/<repo>.golden/, written by
// scripts/bench-render.sh, which installs the CLI; tests never run it).
func TestMatchesKustomizeCLI(t *testing.T) {
	repos, _ := filepath.Glob("../../testdata/render/*")
	n := 0
	for _, repo := range repos {
		if info, err := os.Stat(repo); err != nil || !info.IsDir() || strings.HasSuffix(repo, ".golden") {
			continue
		}
		tr, err := source.Dir(repo, source.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for _, ov := range render.Overlays(tr) {
			if !ov.Kustomize {
				continue
			}
			t.Run(filepath.Base(repo)+"/"+ov.Path, func(t *testing.T) {
				golden := filepath.Join(repo+".golden", strings.ReplaceAll(ov.Path, "/", "_")+".yaml")
				data, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("no golden output (run scripts/bench-render.sh): %v", err)
				}
				want, errs := manifest.Decode(golden, data)
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				res, err := render.Render(context.Background(), tr, ov, render.DefaultOptions())
				if err != nil {
					t.Fatal(err)
				}
				if d := gocmp.Diff(bodies(want), bodies(res.Objects)); d != "" {
					t.Errorf("objects differ from kustomize build (-cli +render):\n%s", d)
				}
				n++
			})
		}
	}
	if n == 0 {
		t.Fatal("no sample overlays compared")
	}
}

func bodies(objs []*manifest.Object) []map[string]any {
	objs = slices.Clone(objs)
	slices.SortFunc(objs, func(a, b *manifest.Object) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = o.Body
	}
	return out
}
