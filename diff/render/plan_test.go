package render_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

// planRepo has two shared bases, a component and three overlays:
// o1 and o2 use b1, o3 uses b2 with a patch file, a generator env file
// and the component, plus plain manifests outside any kustomization.
var planRepo = map[string]string{
	"b1/kustomization.yaml":   "resources: [role.yaml]\n",
	"b1/role.yaml":            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\nrules: []\n",
	"b2/kustomization.yaml":   "resources: [role.yaml]\n",
	"b2/role.yaml":            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r2\nrules: []\n",
	"comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: p.yaml\n",
	"comp/p.yaml":             "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r2\n  labels: {a: b}\n",
	"o1/kustomization.yaml":   "resources: [../b1]\nnamespace: one\n",
	"o2/kustomization.yaml":   "resources: [../b1]\nnamespace: two\n",
	"o3/kustomization.yaml":   "resources: [../b2]\ncomponents: [../comp]\npatches:\n- path: patch.yaml\nconfigMapGenerator:\n- name: cfg\n  envs: [app.env]\n",
	"o3/patch.yaml":           "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r2\n  labels: {c: d}\n",
	"o3/app.env":              "A=1\n",
	"plain/sa.yaml":           "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n",
	"README.md":               "docs\n",
}

func memTree(t testing.TB, files map[string]string) source.Tree {
	m := source.NewMem("t", source.Limits{})
	for name, data := range files {
		if err := m.Add(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name   string
		both   map[string]string // set in base and head
		change map[string]string // "" removes the file
		opts   render.Options
		want   map[string]string // overlay → status, for those not unchanged
	}{
		{name: "nothing that an overlay reads", change: map[string]string{"README.md": "more docs\n"}, want: map[string]string{}},
		{name: "shared base renders every overlay using it and no other", change: map[string]string{"b1/role.yaml": planRepo["b1/role.yaml"] + "# x\n"},
			want: map[string]string{"o1": "changed", "o2": "changed"}},
		{name: "patch file", change: map[string]string{"o3/patch.yaml": planRepo["o3/patch.yaml"] + "# x\n"}, want: map[string]string{"o3": "changed"}},
		{name: "generator env file", change: map[string]string{"o3/app.env": "A=2\n"}, want: map[string]string{"o3": "changed"}},
		{name: "component", change: map[string]string{"comp/p.yaml": planRepo["comp/p.yaml"] + "# x\n"}, want: map[string]string{"o3": "changed"}},
		{name: "a second kustomization name appears", change: map[string]string{"o1/Kustomization": "resources: []\n"}, want: map[string]string{"o1": "changed"}},
		{name: "plain manifest", change: map[string]string{"plain/new.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n"}, want: map[string]string{"plain": "changed"}},
		{name: "overlay added and removed", change: map[string]string{"o4/kustomization.yaml": "resources: [../b2]\n", "o2/kustomization.yaml": ""},
			want: map[string]string{"o4": "added", "o2": "removed"}},
		{name: "unparseable kustomization renders (fail safe)", change: map[string]string{"o1/kustomization.yaml": "resources: [\n"}, want: map[string]string{"o1": "changed"}},
		{name: "skipped remote base the change does not touch", both: map[string]string{"o1/kustomization.yaml": "resources:\n- https://example.com/x?ref=v1\n"},
			change: map[string]string{"b1/role.yaml": "# x\n"}, want: map[string]string{"o2": "changed"}},
		{name: "inputs that cannot be followed render", both: map[string]string{"o1/kustomization.yaml": "resources: [https://example.com/x?ref=v1]\n"},
			change: map[string]string{"b1/role.yaml": "# x\n"}, want: map[string]string{"o1": "changed", "o2": "changed"}},
		{name: "remote base added", change: map[string]string{"o1/kustomization.yaml": "resources: [../b1, https://example.com/x?ref=v1]\n"},
			want: map[string]string{"o1": "changed"}},
		{name: "exclude glob", change: map[string]string{"b1/role.yaml": "# x\n"}, opts: render.Options{Exclude: []string{"o2"}}, want: map[string]string{"o1": "changed"}},
		{name: "include glob", change: map[string]string{"b1/role.yaml": "# x\n"}, opts: render.Options{Include: []string{"o*"}, Exclude: []string{"**/o1"}}, want: map[string]string{"o2": "changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := maps.Clone(planRepo)
			maps.Copy(base, tt.both)
			head := maps.Clone(base)
			for k, v := range tt.change {
				if v == "" {
					delete(head, k)
				} else {
					head[k] = v
				}
			}
			got := map[string]string{}
			pairs, err := render.Plan(memTree(t, base), memTree(t, head), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pairs {
				if p.Status != render.Unchanged {
					got[p.Path] = p.Status
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
		})
	}
}

func TestOverlays(t *testing.T) {
	var got []string
	for _, ov := range render.Overlays(memTree(t, planRepo)) {
		got = append(got, ov.Path)
	}
	want := []string{"o1", "o2", "o3", "plain"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("overlays (-want +got):\n%s", d)
	}
	plain := render.Overlays(memTree(t, planRepo))[3]
	if d := cmp.Diff([]string{"plain/sa.yaml"}, plain.Files); d != "" {
		t.Errorf("plain files (-want +got):\n%s", d)
	}
}

// TestRenderAllOrder renders every overlay of planRepo with one and with
// many workers and expects the same objects in the same order.
func TestRenderAllOrder(t *testing.T) {
	base := memTree(t, planRepo)
	head := maps.Clone(planRepo)
	head["b1/role.yaml"] += "# x\n"
	head["b2/role.yaml"] += "# x\n"
	head["plain/sa.yaml"] += "# x\n"
	ht := memTree(t, head)
	pairs, _ := render.Plan(base, ht, render.Options{})
	list := func(workers int) []string {
		var out []string
		for _, r := range render.RenderAll(context.Background(), base, ht, pairs, render.Options{Workers: workers}) {
			for _, side := range []*render.Result{r.Base, r.Head} {
				if side == nil {
					continue
				}
				for _, o := range side.Objects {
					out = append(out, r.Path+" "+o.String())
				}
			}
			if r.BaseErr != nil || r.HeadErr != nil {
				t.Errorf("%s: %v %v", r.Path, r.BaseErr, r.HeadErr)
			}
		}
		return out
	}
	one := list(1)
	if len(one) != 10 {
		t.Errorf("rendered %d objects, want 10: %v", len(one), one)
	}
	if d := cmp.Diff(one, list(8)); d != "" {
		t.Errorf("order depends on workers (-1 +8):\n%s", d)
	}
}

// TestTimeout bounds one overlay's wall time: a build that overruns ends
// in an error naming the limit.
func TestTimeout(t *testing.T) {
	files := monorepo()
	tr := memTree(t, files)
	opts := render.DefaultOptions()
	opts.Limits.Timeout = time.Nanosecond
	_, err := render.Render(context.Background(), tr, render.Overlay{Path: "overlays/o001", Kustomize: true}, opts)
	if err == nil || !strings.Contains(err.Error(), "rendering took longer than 1ns") {
		t.Fatalf("err = %v, want the time limit", err)
	}
}
