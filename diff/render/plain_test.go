package render_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/rbacguard/rbacguard/diff/render"
)

// TestPlainOverlays runs testdata/plain/*.txtar: plain YAML directories
// and the overlays they group into. A file under @base/ or @head/ exists
// at that commit only; "want" lists "path: files" of the head's overlays,
// after "base path: files" of the base's where the commits differ.
func TestPlainOverlays(t *testing.T) {
	cases, err := filepath.Glob("testdata/plain/*.txtar")
	if err != nil || len(cases) == 0 {
		t.Fatal("no cases", err)
	}
	for _, file := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			base, head := map[string]string{}, map[string]string{}
			var want string
			twoSided := false
			for _, f := range ar.Files {
				switch {
				case f.Name == "want":
					want = string(f.Data)
				case strings.HasPrefix(f.Name, "@base/"):
					twoSided = true
					base[strings.TrimPrefix(f.Name, "@base/")] = string(f.Data)
				case strings.HasPrefix(f.Name, "@head/"):
					twoSided = true
					head[strings.TrimPrefix(f.Name, "@head/")] = string(f.Data)
				default:
					base[f.Name], head[f.Name] = string(f.Data), string(f.Data)
				}
			}
			var got strings.Builder
			for _, side := range []string{"base ", ""} {
				pairs, _ := render.Plan(memTree(t, base), memTree(t, head), render.Options{})
				for _, p := range pairs {
					ov := p.Head
					if side != "" {
						ov = p.Base
					}
					if ov == nil || side != "" && !twoSided {
						continue
					}
					got.WriteString(side + ov.Path + ": " + strings.Join(ov.Files, " ") + "\n")
				}
			}
			if d := cmp.Diff(want, got.String()); d != "" {
				t.Errorf("overlays (-want +got):\n%s", d)
			}
		})
	}
}

// BenchmarkPlainOverlays groups 5,000 directories of plain YAML whose pods
// all run as an account one directory defines, and 5,000 that each bind a
// role of one shared directory: linking stays linear in the directories.
func BenchmarkPlainOverlays(b *testing.B) {
	files := map[string]string{
		"sa/default.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: apps}\n",
		"roles/r.yaml":    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: shared}\nrules: []\n",
	}
	for i := range 5000 {
		files[fmt.Sprintf("apps/a%04d/pod.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec: {containers: [{name: c, image: i}]}\n", i)
		files[fmt.Sprintf("teams/t%04d/rb.yaml", i)] = fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: t%d}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: shared}\nsubjects: [{kind: Group, name: g}]\n", i)
	}
	t := memTree(b, files)
	for b.Loop() {
		if ovs := render.Overlays(t); len(ovs) != 1 || len(ovs[0].Files) != len(files) {
			b.Fatalf("%d overlays, want one of %d files", len(ovs), len(files))
		}
	}
}
