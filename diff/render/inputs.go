package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/glob"
	"github.com/rbacguard/rbacguard/diff/source"
)

// Errors a kustomization can end in before kustomize runs.
var (
	ErrRemoteBase = errors.New("remote inputs are not fetched")
	ErrCycle      = errors.New("kustomization cycle")
	ErrRefused    = errors.New("refused: it would run a program")
	ErrTooLarge   = errors.New("over the render limits")
)

// loaderFields name the kustomization fields whose entries may be
// directories kustomize loads as kustomizations of their own.
var loaderFields = []string{"resources", "bases", "components", "transformers", "generators", "validators"}

// execFields would make kustomize run a program (helm) whatever the
// plugin settings say; they are refused outright.
var execFields = []string{"helmCharts", "helmChartInflationGenerator", "helmGlobals"}

// kustFile is one kustomization of an overlay's closure.
type kustFile struct {
	dir, path string
	root      *yaml.Node // the top mapping
	// lines of the name and namespace transformers, 0 when unset.
	namespace, namePrefix, nameSuffix *yaml.Node
}

// closure is everything one kustomize root reads: the files kustomize may
// open, the kustomizations in load order (root first) and their patches.
type closure struct {
	files []string
	// resources are the files named as resources (or bases): the
	// documents rendered objects come from.
	resources []string
	kusts     []*kustFile
	patches   []*patch
	bytes     int64
	// unsure marks a closure that could not be followed to the end (a
	// kustomization that does not parse): Plan then renders it anyway.
	unsure bool
}

type walker struct {
	t     source.Tree
	o     Options
	lim   Limits
	c     *closure
	seen  map[string]bool // files added
	done  map[string]bool // kustomization dirs visited
	stack []string        // kustomization dirs being visited
	dirs  map[string]bool // directories of t
}

// follow walks the kustomization in dir and every input it names, refusing
// remote bases, Helm, exec and container functions and cycles before
// kustomize sees any of them.
func follow(t source.Tree, dir string, o Options) (*closure, error) {
	w := &walker{t: t, o: o, lim: o.Limits.withDefaults(), c: &closure{}, seen: map[string]bool{}, done: map[string]bool{}, dirs: treeDirs(t)}
	err := w.visit(dir, nil, "")
	slices.Sort(w.c.files)
	return w.c, err
}

func treeDirs(t source.Tree) map[string]bool {
	dirs := map[string]bool{".": true}
	for _, f := range t.Files() {
		for d := path.Dir(f); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	return dirs
}

func (w *walker) add(f string) error {
	if w.seen[f] {
		return nil
	}
	w.seen[f] = true
	w.c.files = append(w.c.files, f)
	info, err := fs.Stat(w.t, f)
	if err != nil {
		return nil // a candidate name that does not exist: kustomize says so if it matters
	}
	if info.Size() > w.lim.MaxFileBytes {
		return fmt.Errorf("%w: %s is %d bytes, over the %d-byte file limit", ErrTooLarge, f, info.Size(), w.lim.MaxFileBytes)
	}
	w.c.bytes += info.Size()
	if w.c.bytes > w.lim.MaxRenderedBytes {
		return fmt.Errorf("%w: the overlay's inputs exceed %d bytes", ErrTooLarge, w.lim.MaxRenderedBytes)
	}
	return nil
}

// visit follows the kustomization in dir; from is the file and node that
// named it (for errors).
func (w *walker) visit(dir string, from *yaml.Node, fromFile string) error {
	if i := slices.Index(w.stack, dir); i >= 0 {
		chain := strings.Join(append(slices.Clone(w.stack[i:]), dir), " → ")
		return &Error{Path: fromFile, Line: from.Line, Err: fmt.Errorf("%w: %s", ErrCycle, chain)}
	}
	if w.done[dir] {
		return nil
	}
	w.done[dir] = true
	w.stack = append(w.stack, dir)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()

	var file string
	for _, name := range KustomizationNames {
		p := path.Join(dir, name)
		if err := w.add(p); err != nil { // every name: adding one later changes the build
			return &Error{Path: p, Err: err}
		}
		if file == "" && w.exists(p) {
			file = p
		}
	}
	if file == "" {
		// A directory without a kustomization: kustomize refuses it; give
		// it the files so that its message is the one the user sees.
		for _, f := range w.t.Files() {
			if strings.HasPrefix(f, dir+"/") {
				if err := w.add(f); err != nil {
					return &Error{Path: f, Err: err}
				}
			}
		}
		return nil
	}
	data, err := fs.ReadFile(w.t, file)
	if err != nil {
		return &Error{Path: file, Err: err}
	}
	if err := checkAliases(data); err != nil {
		return &Error{Path: file, Err: err}
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		w.c.unsure = true // kustomize reports the syntax error with its own words
		return nil
	}
	k := &kustFile{dir: dir, path: file, root: doc.Content[0]}
	w.c.kusts = append(w.c.kusts, k)
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch {
		case slices.Contains(execFields, key.Value):
			return &Error{Path: file, Line: key.Line, Err: fmt.Errorf("%w: %s inflates charts with helm; render the chart and commit its output instead", ErrRefused, key.Value)}
		case key.Value == "namespace":
			k.namespace = val
		case key.Value == "namePrefix":
			k.namePrefix = val
		case key.Value == "nameSuffix":
			k.nameSuffix = val
		}
		if err := refuseURLs(k, key.Value, val); err != nil {
			return err
		}
		loader := slices.Contains(loaderFields, key.Value)
		var walkErr error
		eachScalar(val, func(n *yaml.Node) bool {
			walkErr = w.scalar(k, key.Value, n, loader)
			return walkErr == nil
		})
		if walkErr != nil {
			return walkErr
		}
		if err := w.collectPatches(k, key.Value, val); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) exists(p string) bool {
	info, err := fs.Stat(w.t, p)
	return err == nil && !info.IsDir()
}

// scalar treats one value of a kustomization as a possible input. Every
// value that names a file of the tree is an input, whatever its field:
// following every string rather than a list of known fields keeps the
// closure complete when kustomize grows a field.
func (w *walker) scalar(k *kustFile, field string, n *yaml.Node, loader bool) error {
	v := strings.TrimSpace(n.Value)
	if v == "" {
		return nil
	}
	if strings.Contains(v, "\n") {
		// An inline document (a patch, a transformer config): its own
		// values may name files too, and it may ask for a function.
		if isFunctionConfig(v) {
			return &Error{Path: k.path, Line: n.Line, Err: fmt.Errorf("%w: %s names a KRM function (exec or container); only kustomize's built-in transformers run here", ErrRefused, field)}
		}
		var inner yaml.Node
		if yaml.Unmarshal([]byte(v), &inner) == nil {
			var err error
			eachScalar(&inner, func(m *yaml.Node) bool {
				if !strings.Contains(m.Value, "\n") {
					err = w.scalar(k, field, &yaml.Node{Kind: yaml.ScalarNode, Value: m.Value, Line: n.Line}, false)
				}
				return err == nil
			})
			return err
		}
		return nil
	}
	if isRemote(v) {
		if !loader {
			return nil
		}
		if glob.URLPrefix(w.o.RemoteBases, v) {
			return nil
		}
		return &Error{Path: k.path, Line: n.Line,
			Err: fmt.Errorf("%w: %s entry %q would be fetched from the network; vendor it into the repository or allow its prefix in remoteBases", ErrRemoteBase, field, v)}
	}
	cands := []string{v}
	if _, after, ok := strings.Cut(v, "="); ok { // generator "key=path"
		cands = append(cands, after)
	}
	for _, c := range cands {
		p := path.Clean(path.Join(k.dir, c))
		if !fs.ValidPath(p) || path.IsAbs(c) {
			continue // outside the tree: kustomize will not find it in memory
		}
		switch {
		case w.exists(p):
			if loader && isFunctionFile(w.t, p) {
				return &Error{Path: k.path, Line: n.Line, Err: fmt.Errorf("%w: %s entry %s is a KRM function (exec or container); only kustomize's built-in transformers run here", ErrRefused, field, c)}
			}
			if err := w.add(p); err != nil {
				return &Error{Path: k.path, Line: n.Line, Err: err}
			}
			if (field == "resources" || field == "bases") && !slices.Contains(w.c.resources, p) {
				w.c.resources = append(w.c.resources, p)
			}
			if err := w.checkFile(p); err != nil {
				return err
			}
		case loader && w.dirs[p] && p != k.dir:
			if err := w.visit(p, n, k.path); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFile refuses YAML inputs that would expand past the alias budget
// once kustomize parses them.
func (w *walker) checkFile(p string) error {
	switch path.Ext(p) {
	case ".yaml", ".yml", ".json", "":
	default:
		return nil
	}
	data, err := fs.ReadFile(w.t, p)
	if err != nil {
		return nil
	}
	if err := checkAliases(data); err != nil {
		return &Error{Path: p, Err: err}
	}
	return nil
}

func isFunctionConfig(s string) bool {
	return strings.Contains(s, "config.kubernetes.io/function") || strings.Contains(s, "config.k8s.io/function")
}

func isFunctionFile(t source.Tree, p string) bool {
	data, err := fs.ReadFile(t, p)
	return err == nil && isFunctionConfig(string(data))
}

// eachScalar calls fn for every scalar value under n (mapping keys
// excluded) until fn returns false.
func eachScalar(n *yaml.Node, fn func(*yaml.Node) bool) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return fn(n)
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if !eachScalar(n.Content[i], fn) {
				return false
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			if !eachScalar(c, fn) {
				return false
			}
		}
	}
	return true
}

// fileFields name the kustomization fields whose entries kustomize reads
// as files; its file loader fetches http(s) URLs given there.
var fileFields = []string{"patches", "patchesStrategicMerge", "patchesJson6902", "configurations", "crds", "openapi", "replacements"}

// refuseURLs refuses an http(s) URL wherever kustomize would fetch it as a
// file: a patch, a generator's files and envs, configurations, CRDs, the
// OpenAPI schema and replacements. Kustomize fetches them with Go's HTTP
// client, no program started, but the network is out of bounds all the same.
func refuseURLs(k *kustFile, field string, val *yaml.Node) error {
	var nodes []*yaml.Node
	switch {
	case slices.Contains(fileFields, field):
		eachScalar(val, func(n *yaml.Node) bool { nodes = append(nodes, n); return true })
	case field == "configMapGenerator" || field == "secretGenerator":
		for _, g := range seq(val) {
			for _, sub := range []string{"files", "envs", "env"} {
				eachScalar(orEmpty(child(g, sub)), func(n *yaml.Node) bool { nodes = append(nodes, n); return true })
			}
		}
	}
	for _, n := range nodes {
		v := strings.TrimSpace(n.Value)
		if _, after, ok := strings.Cut(v, "="); ok && (field == "configMapGenerator" || field == "secretGenerator") {
			v = after
		}
		if lower := strings.ToLower(v); strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
			return &Error{Path: k.path, Line: n.Line,
				Err: fmt.Errorf("%w: %s entry %q would be fetched from the network; commit the file to the repository", ErrRemoteBase, field, v)}
		}
	}
	return nil
}

func orEmpty(n *yaml.Node) *yaml.Node {
	if n == nil {
		return &yaml.Node{}
	}
	return n
}

// isRemote reports whether a kustomization entry names something kustomize
// would fetch with git or HTTP rather than read from the tree.
func isRemote(ref string) bool {
	switch {
	case strings.Contains(ref, "://"), strings.HasPrefix(ref, "git@"), strings.HasPrefix(ref, "github.com/"),
		strings.HasPrefix(ref, "gitlab.com/"), strings.HasPrefix(ref, "bitbucket.org/"), strings.Contains(ref, "?ref="),
		strings.Contains(ref, "?version="), strings.Contains(ref, ".git//"), strings.HasSuffix(ref, ".git"),
		strings.HasPrefix(ref, "ssh:"), strings.HasPrefix(ref, "file:"):
		return true
	}
	return false
}

// checkAliases refuses YAML whose aliases expand to more than maxExpanded
// values: kustomize expands anchors when it parses, so a "billion laughs"
// document would exhaust memory inside it. It counts without expanding.
func checkAliases(data []byte) error {
	if !strings.Contains(string(data), "*") {
		return nil
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return nil // end, or a syntax error kustomize will report
		}
		memo := map[*yaml.Node]int64{}
		if size(&n, memo, 0) > maxExpanded {
			return fmt.Errorf("%w: a document expands to more than %d values through aliases (an alias bomb?)", ErrTooLarge, maxExpanded)
		}
	}
}

const maxExpanded = 1 << 20

func size(n *yaml.Node, memo map[*yaml.Node]int64, depth int) int64 {
	if v, ok := memo[n]; ok {
		return v
	}
	if depth > 10_000 {
		return maxExpanded + 1
	}
	var s int64 = 1
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		s = size(n.Alias, memo, depth+1)
	}
	for _, c := range n.Content {
		s += size(c, memo, depth+1)
		if s > maxExpanded {
			break
		}
	}
	memo[n] = s
	return s
}
