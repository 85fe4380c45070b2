package helm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
)

func chartOf(t testing.TB, name string) Chart {
	t.Helper()
	a, err := txtar.ParseFile("testdata/" + name + ".txtar")
	if err != nil {
		t.Fatal(err)
	}
	c := Chart{Files: map[string][]byte{}}
	for _, f := range a.Files {
		c.Files[f.Name] = f.Data
	}
	return c
}

// sources lists the rendered files as "source: kind name, kind name".
func sources(o *Output) string {
	var lines []string
	for _, f := range o.Files {
		var objs []string
		for _, doc := range strings.Split(f.Content, "\n---\n") {
			var kind, name string
			for _, l := range strings.Split(doc, "\n") {
				if k, ok := strings.CutPrefix(l, "kind: "); ok {
					kind = k
				}
				if n, ok := strings.CutPrefix(l, "  name: "); ok && name == "" {
					name = n
				}
			}
			objs = append(objs, kind+" "+name)
		}
		lines = append(lines, f.Source+": "+strings.Join(objs, ", "))
	}
	return strings.Join(lines, "\n")
}

func TestRender(t *testing.T) {
	r := NewRenderer(Limits{})
	cases := []struct {
		name string
		req  Request
		want string
		has  []string
		not  []string
	}{{
		name: "defaults, as helm template",
		req:  Request{},
		want: "shop/templates/role.yaml: Role release-name-shop\nshop/templates/hook.yaml: ServiceAccount migrate\nshop/templates/tests/test.yaml: Pod smoke",
		has:  []string{"namespace: default", `verbs: ["get","list"]`},
		not:  []string{"Thanks for installing"},
	}, {
		name: "release, namespace, CRDs, no hooks, capabilities, a subchart",
		req: Request{ReleaseName: "web", Namespace: "shop", IncludeCRDs: true, SkipHooks: true,
			APIVersions: []string{"monitoring.coreos.com/v1"}, ValuesInline: []byte("metrics: {enabled: true}\n")},
		want: "shop/crds/widget.yaml: CustomResourceDefinition widgets.shop.example.com\n" +
			"shop/charts/metrics/templates/clusterrole.yaml: ClusterRole web-metrics\n" +
			"shop/templates/role.yaml: Role web-shop, ServiceMonitor web-shop",
		has: []string{"namespace: shop"},
	}, {
		name: "skip tests keeps the other hooks",
		req:  Request{SkipTests: true},
		want: "shop/templates/role.yaml: Role release-name-shop\nshop/templates/hook.yaml: ServiceAccount migrate",
	}, {
		name: "valuesInline overrides the values file",
		req:  Request{ValuesInline: []byte("rbac: {secrets: true}\n")},
		has:  []string{`resources: ["secrets"]`, `verbs: ["get","list"]`},
	}, {
		name: "valuesMerge merge: the values file wins",
		req:  Request{ValuesFile: []byte("rbac: {verbs: [watch]}\n"), ValuesInline: []byte("rbac: {verbs: ['*'], secrets: true}\n"), ValuesMerge: "merge"},
		has:  []string{`resources: ["secrets"]`, `verbs: ["watch"]`},
	}, {
		name: "valuesMerge replace drops the values file, the chart's defaults stay",
		req:  Request{ValuesFile: []byte("rbac: {verbs: [watch]}\n"), ValuesInline: []byte("rbac: {secrets: true}\n"), ValuesMerge: "replace"},
		has:  []string{`resources: ["secrets"]`, `verbs: ["get","list"]`},
	}, {
		name: "additional values files apply in order",
		req:  Request{AdditionalValues: [][]byte{[]byte("rbac: {verbs: [create]}\n"), []byte("rbac: {verbs: ['*']}\n")}},
		has:  []string{`verbs: ["*"]`},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Chart = chartOf(t, "shop")
			o, err := r.Render(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if o.Name != "shop" || o.Version != "1.2.0" {
				t.Errorf("chart %s %s, want shop 1.2.0", o.Name, o.Version)
			}
			if got := sources(o); tc.want != "" && got != tc.want {
				t.Errorf("rendered:\n%s\nwant:\n%s", got, tc.want)
			}
			all := ""
			for _, f := range o.Files {
				all += f.Content
			}
			for _, s := range tc.has {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, all)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(all, s) {
					t.Errorf("output has %q", s)
				}
			}
		})
	}
}

// TestHostile holds the bounds: every case ends in a clear error, and the
// caller stays well.
func TestHostile(t *testing.T) {
	tpl := func(body string) Chart {
		return Chart{Files: map[string][]byte{
			"Chart.yaml":          []byte("apiVersion: v2\nname: evil\nversion: 0.0.1\n"),
			"templates/evil.yaml": []byte(body),
		}}
	}
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
	cases := []struct {
		name string
		lim  Limits
		req  Request
		want string
	}{{
		name: "a template that loops without output",
		lim:  Limits{Timeout: time.Second},
		req:  Request{Chart: tpl(`{{ range until 1000000 }}{{ range until 1000000 }}{{ end }}{{ end }}`)},
		want: "longer than 1s",
	}, {
		name: "a template that writes without end",
		lim:  Limits{MaxMemoryBytes: 256 << 20},
		req:  Request{Chart: tpl(`{{ range until 1000000 }}{{ range until 1000000 }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}{{ end }}`)},
		want: "more than 256 MiB of memory",
	}, {
		name: "a count that would allocate at once",
		req:  Request{Chart: tpl(`{{ len (until 1000000000) }}`)},
		want: "until 1000000000: over the render bound",
	}, {
		name: "output over the bound",
		lim:  Limits{MaxOutputBytes: 1 << 20},
		req:  Request{Chart: tpl("kind: ConfigMap\ndata:\n  x: {{ range until 100000 }}{{ repeat 100 \"x\" }}{{ end }}\n")},
		want: "rendered more than 1048576 bytes",
	}, {
		name: "a values file that is a YAML bomb",
		req:  Request{Chart: tpl(`kind: ConfigMap`), ValuesFile: []byte(bomb)},
		want: "values",
	}, {
		name: "a template that fails says where",
		req:  Request{Chart: tpl(`{{ fail "no" }}`)},
		want: "chart evil 0.0.1: execution error at (evil/templates/evil.yaml:1:3): no",
	}, {
		name: "the environment is out of reach",
		req:  Request{Chart: tpl(`{{ env "HOME" }}`)},
		want: `function "env" not defined`,
	}, {
		name: "not a chart",
		req:  Request{Chart: Chart{Files: map[string][]byte{"templates/x.yaml": []byte("kind: X")}}},
		want: "load: Chart.yaml file is missing",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRenderer(tc.lim).Render(context.Background(), tc.req)
			var he *Error
			if !errors.As(err, &he) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestNothingReachesOut: no DNS, no cluster.
func TestNothingReachesOut(t *testing.T) {
	c := Chart{Files: map[string][]byte{
		"Chart.yaml": []byte("apiVersion: v2\nname: probe\nversion: 0.0.1\n"),
		"templates/probe.yaml": []byte(`kind: ConfigMap
data:
  lookup: {{ lookup "v1" "Secret" "kube-system" "" | toJson | quote }}
  dns: {{ getHostByName "localhost" | quote }}
`)}}
	o, err := NewRenderer(Limits{}).Render(context.Background(), Request{Chart: c})
	if err != nil {
		t.Fatal(err)
	}
	got := o.Files[0].Content
	for _, want := range []string{`lookup: "{}"`, `dns: ""`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// TestCached: the same request renders once.
func TestCached(t *testing.T) {
	r := NewRenderer(Limits{})
	req := Request{Chart: chartOf(t, "shop")}
	a, err := r.Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Render(context.Background(), req)
	if a != b {
		t.Error("the same request rendered twice")
	}
}

// TestTimeoutNotKept: a render that ran out of time depends on the load,
// not the chart; the next caller renders again.
func TestTimeoutNotKept(t *testing.T) {
	r := NewRenderer(Limits{Timeout: time.Second})
	req := Request{Chart: Chart{Files: map[string][]byte{
		"Chart.yaml":          []byte("apiVersion: v2\nname: slow\nversion: 0.0.1\n"),
		"templates/slow.yaml": []byte(`{{ range until 1000000 }}{{ range until 1000000 }}{{ end }}{{ end }}`),
	}}}
	if _, err := r.Render(context.Background(), req); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want a timeout", err)
	}
	r.mu.Lock()
	kept := len(r.cache)
	r.mu.Unlock()
	if kept != 0 {
		t.Errorf("a timed-out render was kept (%d entries)", kept)
	}
}
