package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/source"
)

// Errors a kustomization can end in before kustomize runs.
var (
	ErrCycle    = errors.New("kustomization cycle")
	ErrTooLarge = errors.New("over the render limits")
	// ErrOutside is a reference that leaves a directory the caller asked
	// to be held to (Options.StrictRoot).
	ErrOutside = errors.New("outside the directory being checked")
)

// Skipped is an input an overlay names that rbacguard never fetches or
// runs: a remote resource or base, a Helm chart, a KRM function, a legacy
// plugin, a path leaving the repository. It is cut out of the overlay and
// the rest is rendered as kustomize renders it without it; what it would
// have added is not checked, and the report says so.
type Skipped struct {
	Path string // the kustomization that names it
	Line int
	// EndLine is the entry's last line in Path (Line for a one-line
	// entry): an edit between them changes what was not checked.
	EndLine int
	What    string // the entry as written: a URL, a field, a file
	Why     string
	// Inputs are the files of the tree the entry names, which nothing
	// renders: a chart's values files and its directory, a function's or
	// plugin's config, the patch of an object only the entry provided.
	// They are inputs of the overlay all the same (Plan), and a change to
	// them is a change to what was not checked.
	Inputs []string
	// Unpinned marks a remote entry whose ref is a branch or missing: what
	// it grants can change without a pull request (render.unpinned).
	Unpinned bool
}

func (s Skipped) String() string { return fmt.Sprintf("%s:%d: %s: %s", s.Path, s.Line, s.What, s.Why) }

// Why an input is skipped.
const (
	whyRemote   = "would be fetched from the network; vendor it into the repository or allow its prefix in remoteBases"
	whyURLFile  = "would be fetched from the network; commit the file to the repository"
	whyFunction = "is a KRM function (exec or container); only kustomize's built-in transformers run here"
	whyPlugin   = "is a kustomize plugin; only kustomize's built-in transformers run here"
	whyOutside  = "leaves the repository; nothing outside it is read"
	whyTarget   = "patches or replaces an object that only a skipped input provides"
)

// loaderFields name the kustomization fields whose entries may be
// directories kustomize loads as kustomizations of their own.
var loaderFields = []string{"resources", "bases", "components", "transformers", "generators", "validators"}

// kustFile is one kustomization of an overlay's closure.
type kustFile struct {
	dir, path string
	root      *yaml.Node // the top mapping
	// cuts are the entries cut out of it (skipped inputs); edited says
	// the in-memory copy kustomize reads must be written without them.
	cuts   []cut
	edited bool
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
	// skipped are the inputs cut out (see Skipped), in the order met.
	skipped []Skipped
	// targeted are the entries that patch or replace objects by name: cut
	// with a reason when their target came only from a skipped input.
	targeted []targeted
	bytes    int64
	// unsure marks a closure that could not be followed to the end (a
	// kustomization that does not parse): Plan then renders it anyway.
	unsure bool
	// tree is the repository with the fetched remote entries mounted
	// (remote.go); remotes are those entries.
	tree    *mounted
	remotes []Input
	// charts are the Helm charts to render (helm.go); rendered those
	// that did.
	charts   []*chartEntry
	rendered []Chart
	timedOut bool // a chart ran out of time (Result.loadDependent)
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
	cut   map[*yaml.Node]bool
	// fetched are the entries rewritten to a fetched copy (remote.go).
	fetched map[*yaml.Node]bool
}

// cut is one entry removed from a kustomization: an item of a sequence, or
// a key and its value in a mapping.
type cut struct{ parent, node *yaml.Node }

// targeted is an entry of a kustomization that needs an object to exist:
// a patch or a replacement, with the kind and name it looks for.
type targeted struct {
	k            *kustFile
	parent, item *yaml.Node
	kind, name   string
}

// follow walks the kustomization in dir and every input it names, refusing
// remote bases, Helm, exec and container functions and cycles before
// kustomize sees any of them.
func follow(t source.Tree, dir string, o Options) (*closure, error) {
	m := &mounted{Tree: t}
	w := &walker{t: m, o: o, lim: o.Limits.withDefaults(), c: &closure{tree: m}, seen: map[string]bool{}, done: map[string]bool{}, dirs: treeDirs(t), cut: map[*yaml.Node]bool{}, fetched: map[*yaml.Node]bool{}}
	err := w.visit(dir, nil, "")
	slices.Sort(w.c.files)
	for _, k := range w.c.kusts {
		k.applyCuts()
	}
	return w.c, err
}

// skip records input n of kustomization k as skipped and cuts item (an
// element of parent, a sequence or mapping) out of the copy kustomize reads;
// inputs are the tree files it names (Skipped.Inputs).
func (w *walker) skip(k *kustFile, parent, item *yaml.Node, line int, what, why string, inputs ...string) {
	if w.cut[item] {
		return
	}
	w.cut[item] = true
	k.cuts = append(k.cuts, cut{parent, item})
	s := Skipped{Path: k.path, Line: line, EndLine: max(line, entryEnd(parent, item)), What: what, Why: why, Inputs: inputs}
	w.c.skipped = append(w.c.skipped, w.c.atEntry(s))
}

// applyCuts removes the cut entries from k's tree. Lines of what remains
// keep their numbers: they are read from the nodes, not the re-encoded text.
func (k *kustFile) applyCuts() {
	for _, c := range k.cuts {
		i := slices.Index(c.parent.Content, c.node)
		switch {
		case i < 0:
			continue
		case c.parent.Kind == yaml.MappingNode: // the key; its value follows
			c.parent.Content = slices.Delete(c.parent.Content, i, i+2)
		default:
			c.parent.Content = slices.Delete(c.parent.Content, i, i+1)
		}
		k.edited = true
	}
	k.cuts = nil
}

// itemOf returns the element of collection n that holds node (n itself when
// n is not a sequence).
func itemOf(n, node *yaml.Node) *yaml.Node {
	if n.Kind != yaml.SequenceNode {
		return n
	}
	for _, item := range n.Content {
		found := false
		eachNode(item, func(m *yaml.Node) bool { found = m == node; return !found })
		if found {
			return item
		}
	}
	return n
}

func eachNode(n *yaml.Node, fn func(*yaml.Node) bool) bool {
	if !fn(n) {
		return false
	}
	for _, c := range n.Content {
		if !eachNode(c, fn) {
			return false
		}
	}
	return true
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
		case key.Value == "helmCharts" || key.Value == "helmChartInflationGenerator":
			if err := w.helmCharts(k, key, val); err != nil {
				return err
			}
			continue
		case key.Value == "helmGlobals": // read by helmCharts; kustomize would run helm
			w.cutOnly(k, root, key)
			continue
		case key.Value == "namespace":
			k.namespace = val
		case key.Value == "namePrefix":
			k.namePrefix = val
		case key.Value == "nameSuffix":
			k.nameSuffix = val
		}
		if err := w.cutFileRefs(k, key.Value, val); err != nil {
			return err
		}
		loader := slices.Contains(loaderFields, key.Value)
		var walkErr error
		eachScalar(val, func(n *yaml.Node) bool {
			if !w.cut[itemOf(val, n)] {
				walkErr = w.scalar(k, key.Value, val, n, loader)
			}
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
// closure complete when kustomize grows a field. n is a scalar under val,
// the field's value; what must not be read is cut out of val.
func (w *walker) scalar(k *kustFile, field string, val, n *yaml.Node, loader bool) error {
	v := strings.TrimSpace(n.Value)
	if v == "" {
		return nil
	}
	if strings.Contains(v, "\n") {
		// An inline document (a patch, a transformer config): its own
		// values may name files too, and it may ask for a function.
		if isFunctionConfig(v) {
			w.skip(k, val, itemOf(val, n), n.Line, field+" (inline)", whyFunction)
			return nil
		}
		var inner yaml.Node
		if yaml.Unmarshal([]byte(v), &inner) == nil {
			var err error
			eachScalar(&inner, func(m *yaml.Node) bool {
				if !strings.Contains(m.Value, "\n") {
					err = w.scalar(k, field, val, &yaml.Node{Kind: yaml.ScalarNode, Value: m.Value, Line: n.Line}, false)
				}
				return err == nil
			})
			return err
		}
		return nil
	}
	if isRemote(v) {
		if loader {
			return w.remote(k, field, val, n, v)
		}
		return nil
	}
	cands := []string{v}
	if _, after, ok := strings.Cut(v, "="); ok { // generator "key=path"
		cands = append(cands, after)
	}
	for _, c := range cands {
		p := path.Clean(path.Join(k.dir, c))
		if !fs.ValidPath(p) || path.IsAbs(c) || !w.fetched[n] && w.c.tree.leavesMount(k.dir, p) {
			if loader {
				return w.outside(k, field, val, itemOf(val, n), n, c)
			}
			continue
		}
		switch {
		case w.exists(p):
			if loader && isFunctionFile(w.t, p) {
				w.skip(k, val, itemOf(val, n), n.Line, c, whyFunction, w.configInputs(p)...)
				return nil
			}
			if loader && field != "resources" && field != "bases" && field != "components" && isPluginFile(w.t, p) {
				w.skip(k, val, itemOf(val, n), n.Line, c, whyPlugin, w.configInputs(p)...)
				return nil
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

// outside handles an entry naming a path outside the tree: skipped in a
// repository (nothing outside it exists for rbacguard), an error where the
// caller holds rendering to a directory it chose (Options.StrictRoot), so
// that a too narrow directory is never taken for a checked one.
func (w *walker) outside(k *kustFile, field string, parent, item, n *yaml.Node, ref string) error {
	if w.o.StrictRoot {
		hint := "; check a directory that holds it"
		if w.o.OutsideHint != "" {
			hint = "; " + w.o.OutsideHint
		}
		return &Error{Path: k.path, Line: n.Line, Err: fmt.Errorf("%s entry %q is %w%s", field, ref, ErrOutside, hint)}
	}
	w.skip(k, parent, item, n.Line, ref, whyOutside)
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

// builtinKinds are the transformer and generator configs kustomize runs
// itself (its builtinhelpers), Helm's inflator excepted: anything else
// named as a transformer or generator is a plugin.
var builtinKinds = []string{
	"AnnotationsTransformer", "ConfigMapGenerator", "HashTransformer", "IAMPolicyGenerator",
	"ImageTagTransformer", "LabelTransformer", "NamespaceTransformer", "PatchJson6902Transformer",
	"PatchStrategicMergeTransformer", "PatchTransformer", "PrefixSuffixTransformer", "PrefixTransformer",
	"ReplacementTransformer", "ReplicaCountTransformer", "SecretGenerator", "SortOrderTransformer",
	"SuffixTransformer", "ValueAddTransformer",
}

// isPluginFile reports whether file p holds a transformer or generator
// config that is not one of kustomize's built-ins. A file that is not a
// config (a kustomization's own resources) is not a plugin.
func isPluginFile(t source.Tree, p string) bool {
	data, err := fs.ReadFile(t, p)
	if err != nil {
		return false
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc yaml.Node
		if dec.Decode(&doc) != nil {
			return false
		}
		if len(doc.Content) == 0 {
			continue
		}
		if kind := scalar(doc.Content[0], "kind"); kind != "" && !slices.Contains(builtinKinds, kind) {
			return true
		}
	}
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

// cutFileRefs cuts out an http(s) URL or a path leaving the tree wherever
// kustomize would read it as a file: a patch, a generator's files and
// envs, configurations, CRDs, the OpenAPI schema and replacements.
// Kustomize fetches URLs with Go's HTTP client, no program started, but
// the network is out of bounds all the same.
func (w *walker) cutFileRefs(k *kustFile, field string, val *yaml.Node) error {
	type ref struct{ parent, item, n *yaml.Node }
	var refs []ref
	switch {
	case slices.Contains(fileFields, field):
		eachScalar(val, func(n *yaml.Node) bool { refs = append(refs, ref{val, itemOf(val, n), n}); return true })
		if val.Kind == yaml.MappingNode { // openapi: {path: …}: the whole field goes
			for i := range refs {
				refs[i].parent, refs[i].item = k.root, keyOf(k.root, val)
			}
		}
	case field == "configMapGenerator" || field == "secretGenerator":
		for _, g := range seq(val) {
			for _, sub := range []string{"files", "envs", "env"} {
				list := orEmpty(child(g, sub))
				eachScalar(list, func(n *yaml.Node) bool {
					parent, item := list, itemOf(list, n)
					if list.Kind == yaml.ScalarNode { // env: file
						parent, item = g, keyOf(g, list)
					}
					refs = append(refs, ref{parent, item, n})
					return true
				})
			}
		}
	}
	for _, r := range refs {
		v := strings.TrimSpace(r.n.Value)
		if _, after, ok := strings.Cut(v, "="); ok && (field == "configMapGenerator" || field == "secretGenerator") {
			v = after
		}
		if field == "patches" || field == "replacements" {
			if key := keyBefore(r.item, r.n); key != "path" {
				continue // a target's name or an inline patch, not a file
			}
		}
		switch lower := strings.ToLower(v); {
		case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
			w.skip(k, r.parent, r.item, r.n.Line, v, whyURLFile)
		case strings.Contains(v, "\n") || v == "":
		case path.IsAbs(v) || !fs.ValidPath(path.Clean(path.Join(k.dir, v))):
			if err := w.outside(k, field, r.parent, r.item, r.n, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyOf returns the key node of value v in mapping m.
func keyOf(m, v *yaml.Node) *yaml.Node {
	for i := 1; i < len(m.Content); i += 2 {
		if m.Content[i] == v {
			return m.Content[i-1]
		}
	}
	return v
}

// keyBefore names the key under which n sits in mapping item ("" when
// item is not a mapping or n is not one of its values).
func keyBefore(item, n *yaml.Node) string {
	if item.Kind != yaml.MappingNode {
		return ""
	}
	for i := 1; i < len(item.Content); i += 2 {
		if item.Content[i] == n {
			return item.Content[i-1].Value
		}
	}
	return ""
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
