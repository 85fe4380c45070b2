package render

import (
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/source"
)

// NotDeployed are the directory names discovery passes over, wherever
// they are in the tree: fixtures, examples, tests, documentation, scripts
// and vendored code are not what a repository deploys, and merging them
// into what it does deploy invents grants (an example binding default to
// cluster-admin) and overlays nobody applies. Go tooling passes over
// testdata and vendor the same way.
var NotDeployed = []string{"testdata", "examples", "test", "tests", "e2e", "docs", "hack", "vendor", "third_party"}

// PassedOver is a directory of manifests discovery passed over: one of
// NotDeployed, reported once (the top-most such directory of a path).
type PassedOver struct {
	Path string
	Name string // the NotDeployed name that passed it over
}

// passedOver returns the NotDeployed names o passes over: all of them,
// except those an include glob (--include, the policy's overlays, a
// directory argument under --root) names as a path element, which the
// user asked to have checked.
func (o Options) passedOver() []string {
	var names []string
	for _, n := range NotDeployed {
		named := false
		for _, s := range o.selections() {
			if slices.ContainsFunc(s.Include, func(g string) bool { return slices.Contains(strings.Split(g, "/"), n) }) {
				named = true
			}
		}
		if !named {
			names = append(names, n)
		}
	}
	return names
}

// Ignoring returns what discovery passes over in t: the directories of
// NotDeployed that no selection names, and the templates/ of a Helm chart
// (Go templates, not manifests: a chart renders through the helmCharts of
// a kustomization). Every command passes over the same files: a file it
// ignores is neither an overlay nor a problem to report.
func (o Options) Ignoring(t source.Tree) func(string) bool {
	names := o.passedOver()
	return func(f string) bool {
		return passedOverDir(f, names) != "" || inChartTemplates(t, f)
	}
}

// inChartTemplates reports whether f lies under a Helm chart's templates/.
func inChartTemplates(t source.Tree, f string) bool {
	for d := path.Dir(f); d != "." && d != "/"; d = path.Dir(d) {
		if path.Base(d) == "templates" {
			if _, err := fs.Stat(t, path.Join(path.Dir(d), "Chart.yaml")); err == nil {
				return true
			}
		}
	}
	return false
}

// passedOverDir is the top-most directory above f whose name is one of
// names, or "".
func passedOverDir(f string, names []string) string {
	parts := strings.Split(path.Dir(f), "/")
	for i, p := range parts {
		if slices.Contains(names, p) {
			return strings.Join(parts[:i+1], "/")
		}
	}
	return ""
}

// PassedOverDirs lists, once each and sorted, the directories of the
// trees that hold manifests and that o passes over (see NotDeployed),
// among those the selections would otherwise check: with --include
// 'manifests/**', a test/ directory elsewhere was not asked for.
func PassedOverDirs(o Options, trees ...source.Tree) []PassedOver {
	names := o.passedOver()
	seen := map[string]bool{}
	var out []PassedOver
	for _, t := range trees {
		if t == nil {
			continue
		}
		files := t.Files()
		for _, s := range t.Skipped() { // a broken link in testdata is passed over too
			files = append(files, s.Path)
		}
		for _, f := range files {
			if !isManifestName(f) && !slices.Contains(KustomizationNames, path.Base(f)) || inChartTemplates(t, f) {
				continue
			}
			if d := passedOverDir(f, names); d != "" && !seen[d] && o.selects(path.Dir(f)) {
				seen[d] = true
				out = append(out, PassedOver{Path: d, Name: path.Base(d)})
			}
		}
	}
	slices.SortFunc(out, func(a, b PassedOver) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// PassedOverManifests lists the manifest files of t that o passes over as
// not deployed, each with its passed-over directory, testdata left out
// (fixtures, whose changes say nothing about a cluster), among those the
// selections would otherwise check. A change to RBAC there is still told
// (diff's manifest.unused), never silently dropped.
func PassedOverManifests(t source.Tree, o Options) map[string]string {
	names := slices.DeleteFunc(o.passedOver(), func(n string) bool { return n == "testdata" })
	out := map[string]string{}
	for _, f := range t.Files() {
		if !isManifestName(f) || inChartTemplates(t, f) {
			continue
		}
		if d := passedOverDir(f, names); d != "" && o.selects(path.Dir(f)) {
			out[f] = d
		}
	}
	return out
}
