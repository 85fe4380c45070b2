package render_test

import (
	"context"
	"testing"

	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

// FuzzRender feeds arbitrary kustomizations and patches to Plan and Render:
// bad input ends in an error, never a panic or an escape.
func FuzzRender(f *testing.F) {
	f.Add("resources: [../base]\npatches:\n- path: p.yaml\n", "- op: add\n  path: /rules/-\n  value: {verbs: [get]}\n")
	f.Add("resources: [../app]\n", "a: &a [*a]\n")
	f.Add("patches:\n- patch: |-\n    kind: Role\n", "")
	f.Fuzz(func(t *testing.T, kust, patch string) {
		tr := source.NewMem("f", source.Limits{})
		_ = tr.Add("base/kustomization.yaml", []byte("resources: [rbac.yaml]\n"))
		_ = tr.Add("base/rbac.yaml", []byte(baseRole))
		_ = tr.Add("app/kustomization.yaml", []byte(kust))
		_ = tr.Add("app/p.yaml", []byte(patch))
		opts := render.DefaultOptions()
		opts.Limits.MaxResources = 100
		_, _ = render.Plan(source.Empty("e"), tr, opts)
		res, err := render.Render(context.Background(), tr, render.Overlay{Path: "app", Kustomize: true}, opts)
		if err == nil {
			for _, o := range res.Objects {
				o.LineOf("rules", 0, "verbs", 0)
			}
		}
	})
}
