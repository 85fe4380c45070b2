package render_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rbacguard/rbacguard/diff/helm"
	"github.com/rbacguard/rbacguard/diff/remote/remotetest"
	"github.com/rbacguard/rbacguard/diff/render"
)

// chartTar is a chart archive written entry by entry, so that a case can
// hold what `helm package` never writes: a path leaving the chart, a link.
func chartTar(entries ...tar.Header) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, h := range entries {
		body := h.Linkname
		if h.Typeflag == tar.TypeReg {
			h.Linkname = ""
			h.Size = int64(len(body))
		}
		h.Mode = 0o644
		_ = tw.WriteHeader(&h)
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(body))
		}
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

// file is a regular file of chartTar (its body in Linkname).
func file(name, body string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeReg, Linkname: body}
}

// chartRole is a chart's ClusterRole template, reading Secrets with the
// chart's values' verbs ([get] when they name none).
const chartRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-reader
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: {{ .Values.verbs | default (list "get") | toJson }}
`

// TestHelmChartsHostile: a chart of a repository that is hostile ends in
// a skipped input saying why, and the rest of the overlay renders.
func TestHelmChartsHostile(t *testing.T) {
	zeros := make([]byte, 120<<20) // compresses to ~120 KB
	cases := []struct {
		name    string
		archive []byte
		values  string
		helm    helm.Limits
		want    string
	}{{
		name:    "a path leaving the chart",
		archive: chartTar(file("evil/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 1.0.0\n"), file("evil/../../outside.yaml", "kind: ConfigMap")),
		want:    "parent directory",
	}, {
		name: "a link out of the chart is not followed",
		archive: chartTar(file("evil/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 1.0.0\n"),
			tar.Header{Name: "evil/templates/passwd.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}),
		want: "", // the chart renders, without it
	}, {
		name:    "a gzip bomb",
		archive: chartTar(file("evil/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 1.0.0\n"), file("evil/zeros.txt", string(zeros))),
		want:    "larger than the maximum size",
	}, {
		name:    "a template that loops",
		archive: chartTar(file("evil/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 1.0.0\n"), file("evil/templates/loop.yaml", `{{ range until 1000000 }}{{ range until 1000000 }}{{ end }}{{ end }}`)),
		helm:    helm.Limits{Timeout: time.Second},
		want:    "longer than 1s",
	}, {
		name:    "an index that names another version's archive",
		archive: chartTar(file("evil/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 0.9.0\n"), file("evil/templates/role.yaml", chartRole)),
		want:    "the archive fetched is chart evil 0.9.0, not the 1.0.0 asked for",
	}, {
		name:    "values that are a YAML bomb",
		archive: chartTar(file("evil/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 1.0.0\n"), file("evil/templates/role.yaml", chartRole)),
		values:  bomb(9),
		want:    "could not be rendered",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := remotetest.NewChartRepo(t)
			repo.Files["/charts/evil-1.0.0.tgz"] = tc.archive
			repo.Entries["evil"] = []*remotetest.ChartEntry{{Name: "evil", Version: "1.0.0", URLs: []string{"evil-1.0.0.tgz"}}}
			repo.WriteIndex()
			kust := fmt.Sprintf("resources: [cm.yaml]\nhelmCharts:\n- name: evil\n  repo: %s\n  version: 1.0.0\n", repo.RepoURL())
			files := map[string]string{"app/kustomization.yaml": kust, "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n"}
			if tc.values != "" {
				files["app/kustomization.yaml"] += "  valuesFile: values.yaml\n"
				files["app/values.yaml"] = tc.values
			}
			tr := memTree(t, files)
			o := render.DefaultOptions()
			o.Remote = repo.Options("127.0.0.1")
			o.Helm = helm.NewRenderer(tc.helm)
			res, err := render.Render(context.Background(), tr, render.Overlay{Path: "app", Kustomize: true}, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Objects) != 1 || res.Objects[0].Name != "kept" {
				t.Errorf("rendered %v, want the ConfigMap kept alone", res.Objects)
			}
			if tc.want == "" {
				if len(res.Skipped) > 0 {
					t.Errorf("skipped %v, want the chart rendered", res.Skipped)
				}
				return
			}
			if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Why, tc.want) {
				t.Fatalf("skipped %v, want the chart, saying %q", res.Skipped, tc.want)
			}
			if s := res.Skipped[0]; s.Path != "app/kustomization.yaml" || s.Line != 3 {
				t.Errorf("skipped at %s:%d, want the entry's line, app/kustomization.yaml:3", s.Path, s.Line)
			}
		})
	}
}

// bomb is a billion-laughs document of depth levels.
func bomb(depth int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ","))
	}
	return b.String()
}

// TestHelmChartsKustomized: a chart's objects go through the
// kustomization's transformers and patches as after kustomize's own
// inflator, and keep the template's lines.
func TestHelmChartsKustomized(t *testing.T) {
	tr := memTree(t, map[string]string{
		"app/kustomization.yaml": `namespace: shop
namePrefix: prod-
helmGlobals:
  chartHome: vendor
helmCharts:
- name: web
  releaseName: web
  valuesInline:
    verbs: [get, list]
patches:
- target: {kind: ClusterRole, name: web-reader}
  patch: |
    - op: add
      path: /rules/-
      value: {apiGroups: [""], resources: [pods], verbs: [delete]}
`,
		"app/vendor/web/Chart.yaml":          "apiVersion: v2\nname: web\nversion: 2.0.0\n",
		"app/vendor/web/values.yaml":         "verbs: [get]\n",
		"app/vendor/web/templates/role.yaml": chartRole,
		"app/vendor/web/templates/sa.yaml":   "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n",
	})
	res, err := render.Render(context.Background(), tr, render.Overlay{Path: "app", Kustomize: true}, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Objects {
		got = append(got, o.String())
	}
	if want := "ServiceAccount shop/prod-web, ClusterRole prod-web-reader"; strings.Join(got, ", ") != want { // helm's install order
		t.Errorf("rendered %s, want %s", strings.Join(got, ", "), want)
	}
	if len(res.Charts) != 1 || res.Charts[0].Version != "2.0.0" || res.Charts[0].Dir != "app/vendor/web" {
		t.Fatalf("charts %+v, want web 2.0.0 from app/vendor/web", res.Charts)
	}
	role := res.Objects[1]
	if s := fmt.Sprint(role.Body["rules"]); !strings.Contains(s, "[get list]") || !strings.Contains(s, "delete") {
		t.Errorf("rules %s: want the inline values' verbs and the patch's rule", s)
	}
	c := res.Charts[0]
	at := role.LineOf("rules", 0, "verbs")
	inChart, line, ok := c.Template(at.Path, at.Line)
	if !ok || inChart != "templates/role.yaml" || line != 8 {
		t.Errorf("rules[0].verbs rendered at %v, placed at %s:%d, want templates/role.yaml:8", at, inChart, line)
	}
	if !c.InRepository(at.Path) {
		t.Error("a local chart's template is not called a file of the repository")
	}
}

// TestHelmChartOCI: a chart of an OCI registry the policy allows renders
// at the version asked, and its digest is what the overlay rendered with.
func TestHelmChartOCI(t *testing.T) {
	reg := remotetest.NewRegistry(t)
	archive := remotetest.ChartArchive("web", "1.4.0", map[string]string{"templates/role.yaml": chartRole})
	reg.PushChart(t, "charts/web", "web", "1.4.0", archive)
	tr := memTree(t, map[string]string{"app/kustomization.yaml": fmt.Sprintf("helmCharts:\n- name: web\n  repo: %s\n  version: 1.4.0\n  releaseName: shop\n", reg.RepoURL("charts"))})
	o := render.DefaultOptions()
	o.Remote = reg.Options("127.0.0.1")
	res, err := render.Render(context.Background(), tr, render.Overlay{Path: "app", Kustomize: true}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) > 0 || len(res.Objects) != 1 || res.Objects[0].Name != "shop-reader" {
		t.Fatalf("rendered %v, skipped %v: want ClusterRole shop-reader", res.Objects, res.Skipped)
	}
	c := res.Charts[0]
	if c.Version != "1.4.0" || c.Digest != remotetest.Digest(archive) || c.VersionLine != 4 {
		t.Errorf("chart %s at %s (version line %d), want 1.4.0 at %s, line 4", c.Version, c.Digest, c.VersionLine, remotetest.Digest(archive))
	}
	at := res.Objects[0].LineOf("rules", 0, "verbs")
	if inChart, line, _ := c.Template(at.Path, at.Line); inChart != "templates/role.yaml" || line != 8 {
		t.Errorf("verbs placed at %s:%d, want templates/role.yaml:8", inChart, line)
	}
}

// TestHelmChartPlainHTTP: a repository over plain http is never fetched,
// and the reason says so, not that its host is not allowed.
func TestHelmChartPlainHTTP(t *testing.T) {
	tr := memTree(t, map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\nhelmCharts:\n- name: web\n  repo: http://127.0.0.1:1/charts\n  version: 1.0.0\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n"})
	o := render.DefaultOptions()
	o.Remote.Allow, o.Remote.AllowLoopback = []string{"127.0.0.1"}, true
	res, err := render.Render(context.Background(), tr, render.Overlay{Path: "app", Kustomize: true}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Why, "only https:// and oci://") {
		t.Errorf("skipped %v, want the chart, saying only https:// and oci:// are fetched", res.Skipped)
	}
}

// TestHelmSubchartPackaged: what a subchart packaged in charts/ rendered is
// placed at its template's line too.
func TestHelmSubchartPackaged(t *testing.T) {
	sub := remotetest.ChartArchive("sub", "0.1.0", map[string]string{"templates/role.yaml": chartRole})
	tr := memTree(t, map[string]string{
		"app/kustomization.yaml":         "helmCharts:\n- name: web\n  releaseName: shop\n",
		"app/charts/web/Chart.yaml":      "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 0.1.0\n",
		"app/charts/web/charts/sub.tgz":  string(sub),
		"app/charts/web/templates/.keep": "",
	})
	res, err := render.Render(context.Background(), tr, render.Overlay{Path: "app", Kustomize: true}, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 1 || len(res.Skipped) > 0 {
		t.Fatalf("rendered %v, skipped %v: want the subchart's ClusterRole", res.Objects, res.Skipped)
	}
	at := res.Objects[0].LineOf("rules", 0, "verbs")
	if inChart, line, _ := res.Charts[0].Template(at.Path, at.Line); inChart != "charts/sub/templates/role.yaml" || line != 8 {
		t.Errorf("verbs placed at %s:%d, want charts/sub/templates/role.yaml:8", inChart, line)
	}
	if res.Charts[0].InRepository(at.Path) {
		t.Error("a packaged subchart's template is called a file of the repository")
	}
}
