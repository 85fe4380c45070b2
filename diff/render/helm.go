package render

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/helm"
	"github.com/rbacguard/rbacguard/diff/remote"
	"github.com/rbacguard/rbacguard/diff/source"
)

// A helmCharts entry (or the legacy helmChartInflationGenerator) is
// rendered by package helm, in process with Helm's own engine and never
// the helm program: follow records the chart and its values as inputs and
// cuts the entry from the copy kustomize reads; renderClosure renders it,
// mounts what it rendered under HelmDir and names those files as
// resources of the kustomization, so that its transformers and patches
// apply to the chart's objects as they do after kustomize's inflator. A
// local chart (chartHome) needs nothing else; a chart of a repository or
// registry is fetched by package remote when the policy allows its host.
// What cannot be rendered is cut with the reason, as before.

// HelmDir is where rendered charts are mounted in the tree an overlay
// renders from; object locations under it are a chart's.
const HelmDir = ".rbacguard-helm"

// Chart is a Helm chart an overlay rendered with.
type Chart struct {
	Path string // the kustomization naming it
	Line int    // the entry's first line
	// VersionLine is the line of the entry's version (Line when none):
	// the line a pull request bumping the chart edits; EndLine the entry's
	// last line.
	VersionLine, EndLine int
	Name                 string
	Release              string
	Repo                 string // "" for a local chart
	Version              string // the chart's version, from its Chart.yaml
	// Digest identifies what was rendered: the archive's sha256 for a
	// fetched chart, the files' for a local one.
	Digest string
	// Dir is a local chart's directory in the repository.
	Dir string
	// Values are where the entry's values come from: its valuesInline
	// lines and its values files (Line 0: the whole file); ValuesDigest
	// identifies their content.
	Values       []ValuesAt
	ValuesDigest string
	// Mount is the directory of the tree its rendered files are under.
	Mount string
	// lines maps each rendered file's lines to its template's (lineMap).
	lines map[string][]int
	// packaged are the rendered files whose template is inside an
	// archive (a subchart's .tgz), not a file of the repository.
	packaged map[string]bool
}

// ValuesAt is a place values of a chart come from.
type ValuesAt struct {
	Path          string
	Line, EndLine int // 0, 0: the whole file
}

// chartEntry is a chart an overlay's closure renders.
type chartEntry struct {
	Chart
	k       *kustFile
	req     helm.Request
	archive []byte // a fetched chart's .tgz
	inputs  []string
	endLine int
	// sources are the chart's files by path in the chart, to place what
	// it rendered (lineMap); not kept with the result.
	sources map[string]string
	// asked is the version a fetched chart was asked for: the archive must
	// be that chart at that version.
	asked string
	// files are a local chart's files (by path in the chart).
	files map[string][]byte
}

// Why a chart is not rendered.
const (
	whyChartName     = "names no chart"
	whyChartMissing  = "names a chart that is not in the repository and no repo to fetch it from"
	whyChartUnpinned = "names a version range or no version: what it renders can change without a pull request; pin it to an exact version (or an OCI digest)"
	whyChartRemote   = "would fetch a chart from a repository or registry; allow its host in the policy's remote.allow (or vendor the chart under chartHome)"
)

// helmSpec is what a helmCharts entry says, in kustomize's field names.
type helmSpec struct {
	Name                  string   `yaml:"name"`
	Version               string   `yaml:"version"`
	Repo                  string   `yaml:"repo"`
	ReleaseName           string   `yaml:"releaseName"`
	Namespace             string   `yaml:"namespace"`
	ValuesFile            string   `yaml:"valuesFile"`
	AdditionalValuesFiles []string `yaml:"additionalValuesFiles"`
	ValuesMerge           string   `yaml:"valuesMerge"`
	IncludeCRDs           bool     `yaml:"includeCRDs"`
	SkipHooks             bool     `yaml:"skipHooks"`
	SkipTests             bool     `yaml:"skipTests"`
	APIVersions           []string `yaml:"apiVersions"`
	KubeVersion           string   `yaml:"kubeVersion"`
	// The legacy helmChartInflationGenerator's names.
	ChartName        string `yaml:"chartName"`
	ChartVersion     string `yaml:"chartVersion"`
	ChartRepoURL     string `yaml:"chartRepoUrl"`
	ChartHome        string `yaml:"chartHome"`
	Values           string `yaml:"values"`
	ReleaseNamespace string `yaml:"releaseNamespace"`
}

// legacy folds the deprecated field names into the current ones, as
// kustomize's SplitHelmParameters does.
func (s *helmSpec) legacy() {
	s.Name = cmp.Or(s.Name, s.ChartName)
	s.Version = cmp.Or(s.Version, s.ChartVersion)
	s.Repo = cmp.Or(s.Repo, s.ChartRepoURL)
	s.ValuesFile = cmp.Or(s.ValuesFile, s.Values)
	s.Namespace = cmp.Or(s.Namespace, s.ReleaseNamespace)
}

// helmCharts handles a kustomization's helmCharts (or legacy) field: the
// field is cut from the copy kustomize reads, and each entry is either
// recorded to render or skipped with the reason.
func (w *walker) helmCharts(k *kustFile, key, val *yaml.Node) error {
	w.cutOnly(k, k.root, key)
	globals := child(k.root, "helmGlobals")
	for i, item := range seq(val) {
		var spec helmSpec
		if err := item.Decode(&spec); err != nil {
			w.skip(k, val, item, item.Line, key.Value, "does not parse: "+err.Error())
			continue
		}
		spec.legacy()
		valuesItem := child(item, "valuesInline")
		if valuesItem == nil {
			valuesItem = child(item, "valuesLocal")
		}
		if err := w.helmChart(k, key.Value, val, item, i, spec, globals, valuesItem); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) helmChart(k *kustFile, field string, val, item *yaml.Node, index int, spec helmSpec, globals, inline *yaml.Node) error {
	what := field
	if spec.Name != "" {
		what = "chart " + spec.Name
		if spec.Version != "" {
			what += " " + spec.Version
		}
	}
	skip := func(why string, inputs ...string) { w.skip(k, val, item, item.Line, what, why, inputs...) }
	if spec.Name == "" {
		skip(whyChartName)
		return nil
	}
	home := cmp.Or(spec.ChartHome, scalar(globals, "chartHome"), "charts")
	homeDir := path.Clean(path.Join(k.dir, home))
	if path.IsAbs(home) || !fs.ValidPath(homeDir) {
		return w.outside(k, "helmCharts", val, item, item, home)
	}
	e := &chartEntry{k: k, endLine: entryEnd(val, item)}
	e.Path, e.Line, e.VersionLine, e.EndLine = k.path, item.Line, item.Line, entryEnd(val, item)
	if v := child(item, "version"); v != nil {
		e.VersionLine = v.Line
	} else if v := child(item, "chartVersion"); v != nil {
		e.VersionLine = v.Line
	}
	e.Name, e.Release, e.Repo = spec.Name, spec.ReleaseName, spec.Repo
	e.req = helm.Request{ReleaseName: spec.ReleaseName, Namespace: spec.Namespace, ValuesMerge: spec.ValuesMerge,
		IncludeCRDs: spec.IncludeCRDs, SkipHooks: spec.SkipHooks, SkipTests: spec.SkipTests,
		APIVersions: spec.APIVersions, KubeVersion: spec.KubeVersion}

	// Values: the inline ones, then the files, as kustomize reads them
	// (relative to the kustomization).
	if inline != nil && !(inline.Kind == yaml.MappingNode && len(inline.Content) == 0) {
		data, err := yaml.Marshal(inline)
		if err != nil {
			skip("valuesInline does not encode: " + err.Error())
			return nil
		}
		e.req.ValuesInline = data
		e.Values = append(e.Values, ValuesAt{Path: k.path, Line: keyOf(item, inline).Line, EndLine: lastLine(inline)})
	}
	readValues := func(name string) ([]byte, bool) {
		p := path.Clean(path.Join(k.dir, name))
		switch {
		case isRemote(name) || strings.HasPrefix(strings.ToLower(name), "http"):
			skip(whyURLFile)
		case path.IsAbs(name) || !fs.ValidPath(p):
			skip(whyOutside)
		case !w.exists(p):
			skip(fmt.Sprintf("names the values file %s, which is not in the repository", name))
		default:
			if err := w.add(p); err != nil {
				skip(err.Error())
				return nil, false
			}
			data, err := fs.ReadFile(w.t, p)
			if err != nil {
				skip(err.Error())
				return nil, false
			}
			e.Values = append(e.Values, ValuesAt{Path: p})
			e.inputs = append(e.inputs, p)
			return data, true
		}
		return nil, false
	}
	if spec.ValuesFile != "" {
		data, ok := readValues(spec.ValuesFile)
		if !ok {
			return nil
		}
		e.req.ValuesFile = data
	}
	for _, f := range spec.AdditionalValuesFiles {
		data, ok := readValues(f)
		if !ok {
			return nil
		}
		e.req.AdditionalValues = append(e.req.AdditionalValues, data)
	}
	e.ValuesDigest = digestOf(e.req.ValuesFile, e.req.ValuesInline, bytes.Join(e.req.AdditionalValues, []byte{0}), []byte(e.req.ValuesMerge))

	// The chart: in the repository where kustomize looks first (with a
	// repo and a version, kustomize's pull directory), else fetched.
	dir := path.Join(homeDir, spec.Name)
	if spec.Repo != "" && spec.Version != "" {
		dir = path.Join(homeDir, spec.Name+"-"+spec.Version, spec.Name)
	}
	switch {
	case w.dirs[dir] && w.exists(path.Join(dir, "Chart.yaml")):
		e.Dir = dir
		files := w.filesUnder(dir)
		for _, f := range files {
			if err := w.add(f); err != nil {
				return &Error{Path: k.path, Line: item.Line, Err: err}
			}
		}
		e.inputs = append(e.inputs, files...)
	case spec.Repo == "":
		skip(whyChartMissing+" ("+dir+")", e.inputs...)
		return nil
	default:
		if !w.remoteChart(e, spec, skip) {
			return nil
		}
	}
	e.Mount = path.Join(HelmDir, k.dir, field+"-"+strconv.Itoa(index))
	w.c.charts = append(w.c.charts, e)
	return nil
}

// remoteChart fetches the chart of a repository or registry, when the
// policy allows it and the version pins it; false when the entry was
// skipped instead.
func (w *walker) remoteChart(e *chartEntry, spec helmSpec, skip func(string, ...string)) bool {
	f := w.o.fetcher
	if f == nil {
		f = w.o.newFetcher()
	}
	ref := remote.ChartRef{Repo: spec.Repo, Name: spec.Name, Version: spec.Version}
	if f == nil {
		skip(whyChartRemote, e.inputs...)
		return false
	}
	got, err := f.Chart(context.Background(), ref)
	switch {
	case errors.Is(err, remote.ErrNotAllowed): // it says what to allow, or that it never fetches that form
		skip(err.Error(), e.inputs...)
		return false
	case err != nil:
		skip("could not be fetched: "+err.Error(), e.inputs...)
		return false
	case !got.Pinned:
		skip(whyChartUnpinned, e.inputs...)
		w.c.skipped[len(w.c.skipped)-1].Unpinned = true
		return false
	}
	e.archive, e.Digest, e.Version, e.asked = got.Archive, got.Digest, got.Version, got.Version
	// The chart's own files, to place what it rendered in its templates;
	// a chart that does not unpack here fails helm's loader as well.
	e.sources = chartSources(got.Archive)
	return true
}

// sameCharts compares the charts of two closures by what they render:
// the same chart at the same digest (a fetched chart; a local one's
// files are inputs like any other), with the same values.
func sameCharts(a, b []*chartEntry) bool {
	return slices.EqualFunc(a, b, func(x, y *chartEntry) bool {
		return x.Path == y.Path && x.Name == y.Name && x.Repo == y.Repo && x.Digest == y.Digest && x.ValuesDigest == y.ValuesDigest
	})
}

// chartSources are the files of a packaged chart by their path in it,
// with the subcharts it packages unpacked under charts/<name>/; nil when
// the archive does not unpack here (helm's loader then says why).
func chartSources(archive []byte) map[string]string { return unpackChart(archive, true) }

// unpackChart is chartSources; subcharts only at the top (a subchart's
// own packaged subcharts are not placed: bounded work for any archive).
func unpackChart(archive []byte, subcharts bool) map[string]string {
	t, err := source.Tarball(bytes.NewReader(archive), "chart", source.Limits{MaxTotalBytes: 64 << 20})
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, p := range t.Files() {
		if data, err := fs.ReadFile(t, p); err == nil {
			out[p] = string(data)
			if subcharts {
				addSubchart(out, p, data)
			}
		}
	}
	return out
}

// addSubchart adds the files of a subchart packaged at p (charts/x.tgz)
// to sources, under charts/<its name>/, as helm names its templates.
func addSubchart(sources map[string]string, p string, data []byte) {
	if path.Dir(p) != "charts" || !strings.HasSuffix(p, ".tgz") {
		return
	}
	sub := unpackChart(data, false)
	name := chartName.FindStringSubmatch(sub["Chart.yaml"])
	if name == nil {
		return
	}
	for f, text := range sub {
		sources[path.Join("charts", name[1], f)] = text
	}
}

// chartName finds a Chart.yaml's name.
var chartName = regexp.MustCompile(`(?m)^name:\s*["']?([^"'\s]+)`)

// cutOnly cuts item out of the copy kustomize reads without recording a
// skipped input: what it held is rendered another way.
func (w *walker) cutOnly(k *kustFile, parent, item *yaml.Node) {
	if !w.cut[item] {
		w.cut[item] = true
		k.cuts = append(k.cuts, cut{parent, item})
	}
}

func digestOf(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// renderCharts renders the closure's charts, mounts their output and
// names it in their kustomizations; a chart that does not render is
// skipped with helm's words.
func (c *closure) renderCharts(ctx context.Context, o Options) error {
	r := o.Helm
	if r == nil {
		r = helm.Default()
	}
	for _, e := range c.charts {
		req := e.req
		if e.archive != nil {
			req.Chart.Archive = e.archive
		} else {
			req.Chart.Files = map[string][]byte{}
			for _, f := range e.inputs {
				if rest, ok := strings.CutPrefix(f, e.Dir+"/"); ok {
					data, err := fs.ReadFile(c.tree, f)
					if err != nil {
						return err
					}
					req.Chart.Files[rest] = data
				}
			}
			e.Digest, e.files = digestOf(flatten(req.Chart.Files)...), req.Chart.Files
			e.sources = map[string]string{}
			for name, data := range req.Chart.Files {
				e.sources[name] = string(data)
				addSubchart(e.sources, name, data)
			}
		}
		out, err := r.Render(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.timedOut = c.timedOut || errors.Is(err, helm.ErrTimeout)
			c.skipped = append(c.skipped, Skipped{Path: e.Path, Line: e.Line, EndLine: e.endLine,
				What: "chart " + e.Name, Why: "could not be rendered: " + err.Error(), Inputs: e.inputs})
			continue
		}
		if e.asked != "" && (out.Name != e.Name || strings.TrimPrefix(out.Version, "v") != strings.TrimPrefix(e.asked, "v")) {
			// An index or a cache that names the wrong archive must not
			// pass for the chart asked.
			c.skipped = append(c.skipped, Skipped{Path: e.Path, Line: e.Line, EndLine: e.endLine, What: "chart " + e.Name + " " + e.asked,
				Why: fmt.Sprintf("the archive fetched is chart %s %s, not the %s asked for; check the repository's index", out.Name, out.Version, e.asked), Inputs: e.inputs})
			continue
		}
		e.Version = out.Version
		if err := c.mountChart(e, out); err != nil {
			return err
		}
		e.sources, e.files = nil, nil
		c.rendered = append(c.rendered, e.Chart)
	}
	return nil
}

func flatten(files map[string][]byte) [][]byte {
	var out [][]byte
	for _, name := range slices.Sorted(maps.Keys(files)) {
		out = append(out, []byte(name), files[name])
	}
	return out
}

// mountChart puts what a chart rendered under its Mount and names each
// file a resource of its kustomization.
func (c *closure) mountChart(e *chartEntry, out *helm.Output) error {
	m := source.NewMem(e.Mount, source.Limits{})
	e.lines = map[string][]int{}
	var names []string
	for _, f := range out.Files {
		if strings.TrimSpace(f.Content) == "" {
			continue
		}
		if err := m.Add(f.Source, []byte(f.Content)); err != nil {
			return fmt.Errorf("chart %s: %w", e.Name, err)
		}
		p := path.Join(e.Mount, path.Clean(f.Source))
		names = append(names, p)
		if tpl, ok := e.templateOf(f.Source); ok {
			e.lines[p] = lineMap(tpl, f.Content)
			if e.archive == nil {
				_, inChart, _ := strings.Cut(f.Source, "/")
				if _, plain := e.files[inChart]; !plain {
					if e.packaged == nil {
						e.packaged = map[string]bool{}
					}
					e.packaged[p] = true
				}
			}
		}
	}
	if c.tree.mounts == nil {
		c.tree.mounts = map[string]source.Tree{}
	}
	c.tree.mounts[e.Mount] = m
	c.tree.files = nil
	res := child(e.k.root, "resources")
	if res == nil {
		res = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		e.k.root.Content = append(e.k.root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "resources"}, res)
	}
	for _, p := range names {
		res.Content = append(res.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: relPath(e.k.dir, p)})
		c.files = append(c.files, p)
		c.resources = append(c.resources, p)
	}
	e.k.edited = true
	return nil
}

// templateOf is the text of the template a rendered file came from:
// "shop/templates/role.yaml" is templates/role.yaml of the chart.
func (e *chartEntry) templateOf(source string) (string, bool) {
	_, rest, ok := strings.Cut(source, "/")
	if !ok {
		return "", false
	}
	t, ok := e.sources[rest]
	return t, ok
}

// InRepository reports whether the template that rendered file p is a
// file of the repository: a local chart's, not one inside a packaged
// subchart or a fetched archive.
func (c Chart) InRepository(p string) bool {
	return c.Dir != "" && strings.HasPrefix(p, c.Mount+"/") && !c.packaged[p]
}

// Template is where line of rendered file p was written in the chart:
// the template's path in the chart ("templates/role.yaml", or under
// charts/ for a subchart) and its line (0 when not known).
func (c Chart) Template(p string, line int) (string, int, bool) {
	rest, ok := strings.CutPrefix(p, c.Mount+"/")
	if !ok {
		return "", 0, false
	}
	_, inChart, _ := strings.Cut(rest, "/")
	tl := 0
	if m := c.lines[p]; line >= 1 && line <= len(m) {
		tl = m[line-1]
	}
	return inChart, tl, true
}

// lineMap places each line of what a template rendered at the template's
// line that wrote it: a line is found where the template has the same
// text (the next such line after the last one placed, so that a loop
// maps back to its body), or where a template line's text before its
// first action starts it ("verbs: {{ toJson .Values.verbs }}" wrote
// "verbs: [get]"); a line found nowhere takes the last line placed.
func lineMap(template, rendered string) []int {
	tl := strings.Split(template, "\n")
	exact := map[string][]int{}
	for i, l := range tl {
		if s := norm(l); s != "" {
			exact[s] = append(exact[s], i+1)
		}
	}
	prefixOf := func(l string) string {
		before, _, ok := strings.Cut(l, "{{")
		if !ok {
			return ""
		}
		return norm(before)
	}
	rl := strings.Split(rendered, "\n")
	var out []int
	last := 0 // the template line of the rendered line before
	for i, l := range rl {
		s := norm(l)
		at := 0
		if cands := exact[s]; len(cands) > 0 && s != "" {
			at = pick(cands, last, func(j int) int { return agree(tl, rl, j, i) })
		} else if s != "" {
			at = nextWriter(tl, last, s, prefixOf)
		}
		if at == 0 {
			at = max(last, 1)
		}
		out = append(out, at)
		last = at
	}
	return out
}

// pick chooses among the template lines cands (sorted) with a rendered
// line's text: the nearest after line last whose next lines agree with
// what was rendered next (an `if` that rendered nothing leaves a line of
// the same text behind), else the nearest after last, else (a loop's
// body again) the nearest before it. At most pickWindow candidates are
// weighed, so that a long template of repeated lines stays linear.
func pick(cands []int, last int, score func(int) int) int {
	i, _ := slices.BinarySearch(cands, last+1)
	ahead := cands[i:min(len(cands), i+pickWindow)]
	for _, j := range ahead {
		if score(j) > 0 {
			return j
		}
	}
	if len(ahead) > 0 {
		return ahead[0]
	}
	return cands[i-1]
}

const pickWindow = 8

// agree counts how many of the 3 lines after rendered line i have the
// text of the template lines after line j (1-based), steering actions
// skipped.
func agree(tl, rl []string, j, i int) int {
	n := 0
	for d, k := 1, j; d <= 3 && i+d < len(rl); d++ {
		for k < len(tl) && norm(tl[k]) != "" && strings.HasPrefix(strings.TrimSpace(tl[k]), "{{") && !printsAction(tl[k]) {
			k++
		}
		if k >= len(tl) || norm(tl[k]) != norm(rl[i+d]) {
			break
		}
		n++
		k++
	}
	return n
}

// nextWriter is the first template line after line last that may have
// written rendered text s: one whose text before its action starts s, or
// else the action that printed the line before (an include or toYaml
// prints many lines), or the next action that prints ("{{ toYaml
// .Values.rules }}"), not one that only steers (if, with, range, end …),
// or else a line before last whose text starts s (a loop's body again).
// 0 when none is near.
func nextWriter(tl []string, last int, s string, prefixOf func(string) string) int {
	printer := 0
	if last >= 1 && last <= len(tl) && printsAction(tl[last-1]) {
		printer = last // an include or toYaml prints many lines
	}
	for j := last; j < min(len(tl), last+60); j++ {
		if p := prefixOf(tl[j]); p != "" && strings.HasPrefix(s, p) {
			return j + 1
		}
		if printer == 0 && printsAction(tl[j]) {
			printer = j + 1
		}
	}
	if printer > 0 {
		return printer
	}
	for j := last - 2; j >= max(0, last-60); j-- { // a loop's body again
		if p := prefixOf(tl[j]); p != "" && strings.HasPrefix(s, p) {
			return j + 1
		}
	}
	return 0
}

// printsAction reports whether template line l is one action that
// prints: not one that steers (if, else, with, range, end, define), an
// assignment or a comment.
func printsAction(l string) bool {
	t := strings.TrimSpace(l)
	if !strings.HasPrefix(t, "{{") || !strings.HasSuffix(t, "}}") || strings.Count(t, "{{") != 1 {
		return false
	}
	body := strings.TrimSpace(strings.Trim(strings.TrimSuffix(strings.TrimPrefix(t, "{{"), "}}"), "-"))
	word, _, _ := strings.Cut(body, " ")
	switch {
	case body == "", strings.HasPrefix(body, "/*"), strings.Contains(body, ":="), strings.HasPrefix(body, "$") && strings.Contains(body, " = "):
		return false
	}
	switch word {
	case "if", "else", "end", "with", "range", "define", "block", "break", "continue":
		return false
	}
	return true
}

// norm is a line's text without indentation or a list dash.
func norm(l string) string {
	s := strings.TrimSpace(l)
	s = strings.TrimSpace(strings.TrimPrefix(s, "- "))
	if s == "-" || s == "---" {
		return ""
	}
	return s
}
