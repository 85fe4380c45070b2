package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/kustomize/kyaml/yaml/merge2"
)

// DefaultKubeVersion is the Kubernetes version a chart sees when the
// entry names none: what helm v4.3's own binary presents (the client-go it
// is built with). Helm's library would present whatever this binary links,
// or v1.20 in a test; a fixed value renders the same everywhere.
const DefaultKubeVersion = "v1.36.0"

// render is `helm template` for one request, in this process: the child
// runs it (sandbox.go).
func render(ctx context.Context, req Request) (*Output, error) {
	ch, err := load(req.Chart)
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("load: %w", err)}
	}
	name := ch.Name() + " " + ch.Metadata.Version
	out, err := renderChart(ctx, ch, req)
	if err != nil {
		return nil, &Error{Chart: name, Err: err}
	}
	return out, nil
}

func load(c Chart) (*chart.Chart, error) {
	if c.Archive != nil {
		return loader.LoadArchive(bytes.NewReader(c.Archive))
	}
	files := make([]*archive.BufferedFile, 0, len(c.Files))
	for _, name := range slices.Sorted(maps.Keys(c.Files)) {
		files = append(files, &archive.BufferedFile{Name: name, Data: c.Files[name]})
	}
	return loader.LoadFiles(files)
}

func renderChart(ctx context.Context, ch *chart.Chart, req Request) (*Output, error) {
	vals, err := userValues(ch, req)
	if err != nil {
		return nil, err
	}
	caps := common.DefaultCapabilities.Copy()
	kv, err := common.ParseKubeVersion(cmpOr(req.KubeVersion, DefaultKubeVersion))
	if err != nil {
		return nil, fmt.Errorf("kubeVersion %q: %w", req.KubeVersion, err)
	}
	caps.KubeVersion = *kv
	caps.APIVersions = append(caps.APIVersions, req.APIVersions...)
	if c := ch.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("the chart requires kubeVersion %s, incompatible with Kubernetes %s (set kubeVersion in the helmCharts entry)", c, caps.KubeVersion.Version)
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return nil, fmt.Errorf("dependencies: %w", err)
	}
	opts := common.ReleaseOptions{Name: cmpOr(req.ReleaseName, "release-name"), Namespace: cmpOr(req.Namespace, "default"), Revision: 1, IsInstall: true}
	// The schema is not validated: a schema's $ref may name a URL, and
	// validation only refuses values, it never changes what renders.
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, true)
	if err != nil {
		return nil, err
	}
	e := engine.Engine{CustomTemplateFuncs: boundedFuncs()}
	files, err := e.RenderWithContext(ctx, ch, top)
	if err != nil {
		return nil, err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	out := &Output{Name: ch.Name(), Version: ch.Metadata.Version}
	if req.IncludeCRDs {
		for _, crd := range ch.CRDObjects() {
			out.add(crd.Filename, string(crd.File.Data))
		}
	}
	for _, m := range manifests {
		out.add(m.Name, m.Content)
	}
	if !req.SkipHooks {
		for _, h := range hooks {
			if req.SkipTests && slices.Contains(h.Events, release.HookTest) {
				continue
			}
			out.add(h.Path, h.Manifest)
		}
	}
	return out, nil
}

// add appends a document to its source's file: one file per template, as
// a reader of the chart knows it.
func (o *Output) add(source, doc string) {
	if i := slices.IndexFunc(o.Files, func(f File) bool { return f.Source == source }); i >= 0 {
		o.Files[i].Content += "---\n" + doc + "\n"
		return
	}
	o.Files = append(o.Files, File{Source: source, Content: doc + "\n"})
}

// userValues are the values a kustomization passes to `helm template`:
// the values file (the chart's own values.yaml by default) combined with
// valuesInline as valuesMerge says, then each additional values file,
// later over earlier (`-f a -f b`).
func userValues(ch *chart.Chart, req Request) (map[string]any, error) {
	first := req.ValuesFile
	if first == nil {
		for _, f := range ch.Raw {
			if f.Name == chartutil.ValuesfileName {
				first = f.Data
			}
		}
	}
	if len(bytes.TrimSpace(req.ValuesInline)) > 0 && !isEmptyMap(req.ValuesInline) {
		merged, err := mergeInline(first, req.ValuesInline, req.ValuesMerge)
		if err != nil {
			return nil, err
		}
		first = merged
	}
	vals := map[string]any{}
	for i, data := range append([][]byte{first}, req.AdditionalValues...) {
		v, err := common.ReadValues(data)
		if err != nil {
			what := "values"
			if i > 0 {
				what = fmt.Sprintf("additionalValuesFiles[%d]", i-1)
			}
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		vals = mergeMaps(vals, v)
	}
	return vals, nil
}

func isEmptyMap(data []byte) bool {
	s := strings.TrimSpace(string(data))
	return s == "{}" || s == "null"
}

// mergeInline combines valuesInline with the values file as kustomize
// does (merge2.Merge: the source's values win).
func mergeInline(file, inline []byte, mode string) ([]byte, error) {
	switch mode {
	case "", "override", "merge":
	case "replace":
		return inline, nil
	default:
		return nil, fmt.Errorf("valuesMerge %q: must be one of override, merge, replace", mode)
	}
	fileNode, err := kyaml.Parse(cmpOr(string(file), "{}"))
	if err != nil {
		return nil, fmt.Errorf("values file: %w", err)
	}
	inlineNode, err := kyaml.Parse(string(inline))
	if err != nil {
		return nil, fmt.Errorf("valuesInline: %w", err)
	}
	var out *kyaml.RNode
	if mode == "merge" {
		out, err = merge2.Merge(fileNode, inlineNode, kyaml.MergeOptions{})
	} else {
		out, err = merge2.Merge(inlineNode, fileNode, kyaml.MergeOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("merge valuesInline: %w", err)
	}
	s, err := out.String()
	return []byte(s), err
}

// mergeMaps merges b over a, maps key by key, as helm merges -f files.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	maps.Copy(out, a)
	for k, v := range b {
		if v, ok := v.(map[string]any); ok {
			if bv, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(bv, v)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// errBound is a bound a template function refused to pass.
var errBound = errors.New("over the render bound")

// maxListLen bounds the lists and strings a template function builds from
// a count: `until 1000000000` would allocate gigabytes at once, faster
// than any watch of the heap can stop it.
const maxListLen = 1 << 20
