package render_test

import (
	"context"
	"testing"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

const baseRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: api
`

// TestLines asserts, for each way kustomize can write a field, the exact
// file and line LineOf reports for it.
func TestLines(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		kind  string
		path  []any
		want  manifest.Location
	}{{
		name: "unpatched field points into the base",
		files: map[string]string{
			"app/kustomization.yaml": "resources: [../base]\n",
		},
		kind: "Role", path: []any{"rules", 0, "verbs", 0},
		want: manifest.Location{Path: "base/rbac.yaml", Line: 8},
	}, {
		name: "strategic-merge patch file",
		files: map[string]string{
			"app/kustomization.yaml": "resources: [../base]\npatches:\n- path: patch.yaml\n",
			"app/patch.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
rules:
- apiGroups: [""]
  resources: [pods]
  verbs:
  - get
  - delete
`,
		},
		kind: "Role", path: []any{"rules", 0, "verbs", 1},
		want: manifest.Location{Path: "app/patch.yaml", Line: 10},
	}, {
		name: "patchesStrategicMerge file, untouched sibling field stays in base",
		files: map[string]string{
			"app/kustomization.yaml": "resources: [../base]\npatchesStrategicMerge:\n- patch.yaml\n",
			"app/patch.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader
  labels:
    team: a
`,
		},
		kind: "RoleBinding", path: []any{"roleRef", "name"},
		want: manifest.Location{Path: "base/rbac.yaml", Line: 17},
	}, {
		name: "JSON 6902 patch file appends a rule",
		files: map[string]string{
			"app/kustomization.yaml": `resources: [../base]
patchesJson6902:
- target: {group: rbac.authorization.k8s.io, version: v1, kind: Role, name: reader}
  path: ops.yaml
`,
			"app/ops.yaml": `- op: add
  path: /rules/-
  value:
    apiGroups: [""]
    resources: [secrets]
    verbs:
    - list
`,
		},
		kind: "Role", path: []any{"rules", 1, "verbs", 0},
		want: manifest.Location{Path: "app/ops.yaml", Line: 7},
	}, {
		name: "JSON 6902 replace of one value",
		files: map[string]string{
			"app/kustomization.yaml": `resources: [../base]
patches:
- target: {kind: Role, name: reader}
  path: ops.yaml
`,
			"app/ops.yaml": "- op: replace\n  path: /rules/0/verbs/0\n  value: watch\n",
		},
		kind: "Role", path: []any{"rules", 0, "verbs", 0},
		want: manifest.Location{Path: "app/ops.yaml", Line: 3},
	}, {
		name: "inline JSON 6902 patch in the kustomization",
		files: map[string]string{
			"app/kustomization.yaml": `resources: [../base]
patches:
- target:
    kind: RoleBinding
  patch: |-
    - op: add
      path: /subjects/-
      value:
        kind: Group
        name: system:authenticated
`,
		},
		kind: "RoleBinding", path: []any{"subjects", 1, "name"},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 10},
	}, {
		name: "inline strategic-merge patch in the kustomization",
		files: map[string]string{
			"app/kustomization.yaml": `resources: [../base]
patches:
- patch: |-
    apiVersion: rbac.authorization.k8s.io/v1
    kind: Role
    metadata:
      name: reader
    rules:
    - apiGroups: [""]
      resources: [secrets]
      verbs: [get]
`,
		},
		kind: "Role", path: []any{"rules", 0, "resources", 0},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 10},
	}, {
		name: "inline patchesStrategicMerge entry",
		files: map[string]string{
			"app/kustomization.yaml": `resources: [../base]
patchesStrategicMerge:
- |-
  apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata:
    name: reader
  rules:
  - apiGroups: ["apps"]
    resources: [deployments]
    verbs: [get]
`,
		},
		kind: "Role", path: []any{"rules", 0, "apiGroups", 0},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 9},
	}, {
		name: "namespace transformer sets the namespace",
		files: map[string]string{
			"app/kustomization.yaml": "resources: [../base]\nnamespace: payments\n",
		},
		kind: "Role", path: []any{"metadata", "namespace"},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 2},
	}, {
		name: "namespace transformer sets a ServiceAccount subject's namespace",
		files: map[string]string{
			"app/kustomization.yaml": "resources: [../base]\nnamespace: payments\n",
			"base/rbac.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader
  namespace: old
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: default
  namespace: old
`,
		},
		kind: "RoleBinding", path: []any{"subjects", 0, "namespace"},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 2},
	}, {
		name: "namePrefix renames",
		files: map[string]string{
			"app/kustomization.yaml": "namePrefix: prod-\nresources: [../base]\n",
		},
		kind: "Role", path: []any{"metadata", "name"},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 1},
	}, {
		name: "component patch",
		files: map[string]string{
			"app/kustomization.yaml":  "resources: [../base]\ncomponents: [../comp]\n",
			"comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: p.yaml\n  target: {kind: Role}\n",
			"comp/p.yaml": `- op: add
  path: /rules/0/verbs/-
  value: escalate
`,
		},
		kind: "Role", path: []any{"rules", 0, "verbs", 1},
		want: manifest.Location{Path: "comp/p.yaml", Line: 3},
	}, {
		name: "overlay patch over a base patch: the outer one wins",
		files: map[string]string{
			"mid/kustomization.yaml": "resources: [../base]\npatches:\n- path: p.yaml\n  target: {kind: Role}\n",
			"mid/p.yaml":             "- op: replace\n  path: /rules/0/verbs/0\n  value: list\n",
			"app/kustomization.yaml": "resources: [../mid]\npatches:\n- path: p.yaml\n  target: {kind: Role}\n",
			"app/p.yaml":             "- op: replace\n  path: /rules/0/verbs/0\n  value: watch\n",
		},
		kind: "Role", path: []any{"rules", 0, "verbs", 0},
		want: manifest.Location{Path: "app/p.yaml", Line: 3},
	}, {
		name: "same name from two bases (located through origin annotations)",
		files: map[string]string{
			"other/kustomization.yaml": "namePrefix: other-\nresources: [role.yaml]\n",
			"other/role.yaml":          "# the other base\n" + baseRole,
			"app/kustomization.yaml":   "resources: [../other, ../base]\n",
		},
		kind: "Role", path: []any{"rules", 0, "verbs", 0},
		want: manifest.Location{Path: "other/role.yaml", Line: 9},
	}, {
		name: "commonLabels adds an aggregation label",
		files: map[string]string{
			"app/kustomization.yaml": "resources: [../base]\ncommonLabels:\n  team: a\n  rbac.authorization.k8s.io/aggregate-to-admin: \"true\"\n",
		},
		kind: "Role", path: []any{"metadata", "labels", "rbac.authorization.k8s.io/aggregate-to-admin"},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 4},
	}, {
		name: "labels pairs",
		files: map[string]string{
			"app/kustomization.yaml": "resources: [../base]\nlabels:\n- pairs:\n    tier: web\n",
		},
		kind: "Role", path: []any{"metadata", "labels", "tier"},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 4},
	}, {
		name: "configMapGenerator literal",
		files: map[string]string{
			"app/kustomization.yaml": "configMapGenerator:\n- name: cfg\n  literals:\n  - a=b\n  - token=x\n",
		},
		kind: "ConfigMap", path: []any{"data", "token"},
		want: manifest.Location{Path: "app/kustomization.yaml", Line: 5},
	}, {
		name: "configMapGenerator env file",
		files: map[string]string{
			"app/kustomization.yaml": "configMapGenerator:\n- name: cfg\n  envs: [app.env]\n",
			"app/app.env":            "# settings\nA=1\nTOKEN=abc\n",
		},
		kind: "ConfigMap", path: []any{"data", "TOKEN"},
		want: manifest.Location{Path: "app/app.env", Line: 3},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := source.NewMem("t", source.Limits{})
			must(t, tr.Add("base/kustomization.yaml", []byte("resources: [rbac.yaml]\n")))
			must(t, tr.Add("base/rbac.yaml", []byte(baseRole)))
			for name, data := range tt.files {
				must(t, tr.Add(name, []byte(data)))
			}
			res, err := render.Render(context.Background(), tr, render.Overlay{Path: "app", Kustomize: true}, render.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				if o.Kind == tt.kind {
					if got := o.LineOf(tt.path...); got != tt.want {
						t.Errorf("LineOf%v = %v, want %v", tt.path, got, tt.want)
					}
					return
				}
			}
			t.Fatalf("no %s rendered", tt.kind)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
