package render

import (
	"slices"
	"testing"
)

// TestLineMap places rendered lines at the template lines that wrote them.
func TestLineMap(t *testing.T) {
	cases := []struct {
		name, template, rendered string
		want                     []int
	}{{
		name: "an if that rendered nothing leaves a line of the same text behind",
		template: `rules:
{{- if .Values.extra }}
- apiGroups: [""]
  resources: [pods]
{{- end }}
- apiGroups: [""]
  resources: [secrets]
`,
		rendered: "rules:\n- apiGroups: [\"\"]\n  resources: [secrets]\n",
		want:     []int{1, 6, 7, 7},
	}, {
		name: "an include prints many lines, a value after its key",
		template: `metadata:
  labels:
    {{- include "labels" . | nindent 4 }}
rules:
- verbs: {{ toJson .Values.verbs }}
`,
		rendered: "metadata:\n  labels:\n    app: x\n    tier: y\nrules:\n- verbs: [\"get\"]\n",
		want:     []int{1, 2, 3, 3, 4, 5, 5},
	}, {
		name: "toYaml of a list",
		template: `rules:
{{- with .Values.rules }}
{{ toYaml . }}
{{- end }}
`,
		rendered: "rules:\n- apiGroups:\n  - \"\"\n  resources:\n  - secrets\n",
		want:     []int{1, 3, 3, 3, 3, 3},
	}, {
		name: "a loop maps back to its body",
		template: `rules:
{{- range .Values.groups }}
- apiGroups: [{{ . | quote }}]
  resources: ["*"]
{{- end }}
`,
		rendered: "rules:\n- apiGroups: [\"a\"]\n  resources: [\"*\"]\n- apiGroups: [\"b\"]\n  resources: [\"*\"]\n",
		want:     []int{1, 3, 4, 3, 4, 4},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := lineMap(tc.template, tc.rendered); !slices.Equal(got, tc.want) {
				t.Errorf("lineMap = %v, want %v", got, tc.want)
			}
		})
	}
}
