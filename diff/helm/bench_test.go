package helm

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRender renders the shop chart in a child process, each time
// anew (a new release name defeats the cache): the cost of one chart of a
// pull request.
func BenchmarkRender(b *testing.B) {
	r := NewRenderer(Limits{})
	c := chartOf(b, "shop")
	for i := 0; b.Loop(); i++ {
		if _, err := r.Render(context.Background(), Request{Chart: c, ReleaseName: fmt.Sprint("r", i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderLarge renders a chart of 500 templates of a ClusterRole
// each, about the size of kube-prometheus-stack.
func BenchmarkRenderLarge(b *testing.B) {
	c := Chart{Files: map[string][]byte{"Chart.yaml": []byte("apiVersion: v2\nname: big\nversion: 1.0.0\n"), "values.yaml": []byte("verbs: [get, list, watch]\n")}}
	for i := range 500 {
		c.Files[fmt.Sprintf("templates/role-%d.yaml", i)] = []byte(fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-%d
  labels:
    {{- range $k, $v := .Chart.Annotations }}
    {{ $k }}: {{ $v | quote }}
    {{- end }}
rules:
{{- range until 5 }}
- apiGroups: ["group{{ . }}.example.com"]
  resources: ["things", "others"]
  verbs: {{ toJson $.Values.verbs }}
{{- end }}
`, i))
	}
	r := NewRenderer(Limits{})
	for i := 0; b.Loop(); i++ {
		if _, err := r.Render(context.Background(), Request{Chart: c, ReleaseName: fmt.Sprint("r", i)}); err != nil {
			b.Fatal(err)
		}
	}
}
