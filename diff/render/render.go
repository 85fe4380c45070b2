package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"sigs.k8s.io/kustomize/api/resmap"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/source"
)

// Result is one rendered overlay.
type Result struct {
	Objects []*manifest.Object
	// Problems are documents that could not be read; the overlay still
	// rendered. Each names its file and document.
	Problems []*manifest.DocError
	// Skipped are the inputs cut out before rendering: the overlay is
	// partial, and what they hold is not checked.
	Skipped []Skipped
	// Templates are plain files that do not parse as YAML and carry
	// template syntax ({{ … }}, ${VAR}): templates, not manifests.
	Templates []string
	// Inputs are the remote entries fetched and rendered with; objects
	// from them are located under their Mount.
	Inputs []Input
	// Charts are the Helm charts rendered; objects from them are located
	// under their Mount.
	Charts []Chart
	// loadDependent marks a result that a chart's time limit cut short:
	// another try may render it, so ResultCache never keeps it.
	loadDependent bool
}

// Error is an overlay that failed to render.
type Error struct {
	Overlay string
	Path    string // the file at fault, when known
	Line    int
	Err     error
}

func (e *Error) Error() string {
	loc := e.Overlay
	if e.Path != "" {
		loc = e.Path
		if e.Line > 0 {
			loc = fmt.Sprintf("%s:%d", e.Path, e.Line)
		}
	}
	return fmt.Sprintf("render %s: %v", loc, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Render turns one overlay of t into objects, within o.Limits.
func Render(ctx context.Context, t source.Tree, ov Overlay, o Options) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.ResultCache != nil {
		return o.ResultCache.render(ctx, t, ov, o)
	}
	return renderOverlay(ctx, t, ov, o)
}

// renderOverlay is Render without the result cache.
func renderOverlay(ctx context.Context, t source.Tree, ov Overlay, o Options) (*Result, error) {
	if !ov.Kustomize {
		res := renderPlain(t, ov, o.cache)
		if lim := o.Limits.withDefaults(); len(res.Objects) > lim.MaxResources {
			return nil, &Error{Overlay: ov.Path, Err: fmt.Errorf("%w: %d resources, over the limit of %d", ErrTooLarge, len(res.Objects), lim.MaxResources)}
		}
		return res, nil
	}
	return renderKustomize(ctx, t, ov.Path, o)
}

func renderPlain(t source.Tree, ov Overlay, cache *manifest.Cache) *Result {
	docs := decodeFiles(t, ov.Files, cache)
	res := &Result{}
	for i, d := range docs {
		res.Objects = append(res.Objects, d.objs...)
		res.Problems = append(res.Problems, d.errs...)
		if d.template {
			res.Templates = append(res.Templates, ov.Files[i])
		}
	}
	return res
}

type decoded struct {
	objs     []*manifest.Object
	errs     []*manifest.DocError
	template bool
}

// decodeFiles decodes plain manifest files, in their order. Decoding YAML
// is the hot path of large plain repositories: the files are spread over
// the cores.
func decodeFiles(t source.Tree, files []string, cache *manifest.Cache) []decoded {
	out := make([]decoded, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range next {
				out[i] = decodeFile(t, files[i], cache)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// decodeFile reads one plain manifest file. A file with no Kubernetes
// object at all (a config, Helm values) is not a manifest and yields
// nothing; nor does a template, a file that does not parse and carries
// template syntax. A file with objects reports each document it cannot read.
func decodeFile(t source.Tree, f string, cache *manifest.Cache) decoded {
	data, err := fs.ReadFile(t, f)
	if err != nil {
		return decoded{errs: []*manifest.DocError{{Path: f, Err: err}}}
	}
	objs, errs := cache.Decode(f, data)
	var problems []*manifest.DocError
	notObjects, syntax := len(objs) == 0, len(objs) == 0
	for _, e := range errs {
		var de *manifest.DocError
		if !errors.As(e, &de) {
			continue
		}
		if errors.Is(de.Err, manifest.ErrNotObject) && len(objs) == 0 {
			return decoded{}
		}
		notObjects = notObjects && (errors.Is(de.Err, manifest.ErrNotMapping) || errors.Is(de.Err, manifest.ErrNoKind))
		var se *manifest.SyntaxError
		syntax = syntax && errors.As(de.Err, &se)
		problems = append(problems, de)
	}
	if notObjects || syntax && !kindKey.Match(data) {
		// A JSON list, a Chart.yaml, a tsconfig.json with comments: a file
		// that holds no object and names no kind is not a manifest.
		return decoded{}
	}
	if len(problems) > 0 && templateSyntax.Match(data) {
		return decoded{template: true}
	}
	return decoded{objs: objs, errs: problems}
}

// kindKey finds a "kind:" key anywhere in a file, parsed or not.
var kindKey = regexp.MustCompile(`(?m)^[\s-]*["']?kind["']?\s*:`)

// templateSyntax finds Go template actions and shell-style variables.
var templateSyntax = regexp.MustCompile(`\{\{.*\}\}|\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

func renderKustomize(ctx context.Context, t source.Tree, dir string, o Options) (*Result, error) {
	c, err := follow(t, dir, o)
	if err != nil {
		return nil, overlayError(dir, err)
	}
	return renderClosure(ctx, t, dir, c, o)
}

// renderClosure renders the kustomization in dir from its followed inputs.
func renderClosure(ctx context.Context, t source.Tree, dir string, c *closure, o Options) (*Result, error) {
	lim := o.Limits.withDefaults()
	if c.tree != nil {
		t = c.tree // the repository with its fetched remote entries
	}
	// The filesystem kustomize sees holds the overlay's inputs and nothing
	// else: no path, relative, absolute or through a link, reaches a file
	// the closure did not name from inside the tree.
	if err := c.renderCharts(ctx, o); err != nil {
		return nil, &Error{Overlay: dir, Err: err}
	}
	mem := filesys.MakeFsInMemory()
	for _, f := range c.files {
		data, err := fs.ReadFile(t, f)
		if err != nil {
			continue // a candidate name that does not exist
		}
		if err := mem.WriteFile("/"+f, data); err != nil {
			return nil, &Error{Overlay: dir, Path: f, Err: err}
		}
	}
	if err := writeEdited(mem, c); err != nil {
		return nil, &Error{Overlay: dir, Err: err}
	}
	root := path.Join("/", dir)
	res, err := buildLocated(ctx, t, mem, root, dir, c, o.cache, lim)
	// A patch or replacement whose object only a skipped input provided
	// fails the build: cut it too, with the reason, and build again.
	for tries := 0; err != nil && len(c.skipped) > 0 && tries < 8; tries++ {
		if !cutTargetless(c, err) {
			break
		}
		if werr := writeEdited(mem, c); werr != nil {
			return nil, &Error{Overlay: dir, Err: werr}
		}
		res, err = buildLocated(ctx, t, mem, root, dir, c, o.cache, lim)
	}
	if err != nil {
		return nil, blame(err, c)
	}
	res.Skipped, res.Inputs, res.Charts, res.loadDependent = c.skipped, c.remotes, c.rendered, c.timedOut
	return res, nil
}

// buildLocated builds once without origin annotations and matches objects
// to the closure's documents; only an ambiguous match (one name in two
// files) builds again with them. Origin annotations cost kustomize as much
// again (it then records every transformer on every object).
func buildLocated(ctx context.Context, t source.Tree, mem filesys.FileSystem, root, dir string, c *closure, cache *manifest.Cache, lim Limits) (*Result, error) {
	res, ok, err := build(ctx, t, mem, root, dir, c, cache, lim)
	if err != nil || ok {
		return res, err
	}
	if err := addOriginAnnotations(mem, root); err != nil {
		return nil, &Error{Overlay: dir, Err: err}
	}
	res, _, err = build(ctx, t, mem, root, dir, c, cache, lim)
	return res, err
}

// writeEdited writes the kustomizations that lost entries to skipped
// inputs into mem, without those entries.
func writeEdited(mem filesys.FileSystem, c *closure) error {
	for _, k := range c.kusts {
		if !k.edited {
			continue
		}
		data, err := yaml.Marshal(k.root)
		if err != nil {
			return fmt.Errorf("%s: %w", k.path, err)
		}
		if len(k.root.Content) == 0 {
			// Kustomize refuses a kustomization with no field set; an empty
			// list is set (not nil), and renders to nothing, as the cut
			// inputs left it.
			data = []byte("resources: []\n")
		}
		if err := mem.WriteFile("/"+k.path, data); err != nil {
			return err
		}
		k.edited = false
	}
	return nil
}

// cutTargetless cuts the patches and replacements whose target kind and
// name the failed build's message names, when the overlay has skipped
// inputs that may have held that object. It reports whether it cut any.
func cutTargetless(c *closure, err error) bool {
	msg := err.Error()
	cutAny := false
	for i, tg := range c.targeted {
		if tg.item == nil || tg.name == "" || !strings.Contains(msg, tg.name) || (tg.kind != "" && !strings.Contains(msg, tg.kind)) {
			continue
		}
		if i := slices.Index(tg.parent.Content, tg.item); i >= 0 {
			tg.parent.Content = slices.Delete(tg.parent.Content, i, i+1)
			tg.k.edited = true
			var inputs []string // the patch files, which now check nothing
			c.patches = slices.DeleteFunc(c.patches, func(p *patch) bool {
				drop := p.name == tg.name && p.kind == tg.kind
				if drop && p.file != tg.k.path && !slices.Contains(inputs, p.file) {
					inputs = append(inputs, p.file)
				}
				return drop
			})
			c.skipped = append(c.skipped, Skipped{Path: tg.k.path, Line: tg.item.Line, EndLine: max(tg.item.Line, lastLine(tg.item)),
				What: describeTarget(tg), Why: whyTarget, Inputs: inputs})
			cutAny = true
		}
		c.targeted[i].item = nil
	}
	return cutAny
}

func describeTarget(tg targeted) string {
	if tg.kind == "" {
		return "patch of " + tg.name
	}
	return "patch of " + tg.kind + " " + tg.name
}

// quoted finds the paths and names kustomize quotes in its messages.
var quoted = regexp.MustCompile(`'([^'\s]+)'`)

// blame points a kustomize error at the kustomization line that names the
// entry it complains about (the innermost one it quotes), when one does.
func blame(err error, c *closure) error {
	var re *Error
	if !errors.As(err, &re) || re.Path != "" {
		return err
	}
	msg := re.Err.Error()
	var names []string // innermost first
	ms := quoted.FindAllStringSubmatch(msg, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		names = append(names, ms[i][1])
	}
	if f, _, ok := strings.Cut(msg, " does not exist"); ok {
		names = append(names, f[strings.LastIndex(f, " ")+1:])
	}
	for _, q := range names {
		for _, k := range c.kusts {
			var hit *yaml.Node
			eachScalar(k.root, func(n *yaml.Node) bool {
				v := strings.TrimSpace(n.Value)
				if v != "" && !strings.Contains(v, "\n") && (v == q || path.Clean(path.Join(k.dir, v)) == q) {
					hit = n
					return false
				}
				return true
			})
			if hit != nil {
				re.Path, re.Line = k.path, hit.Line
				return re
			}
		}
	}
	return re
}

// build runs kustomize once and locates what it rendered; ok is false if
// an object could not be located without origin annotations.
func build(ctx context.Context, t source.Tree, mem filesys.FileSystem, root, dir string, c *closure, cache *manifest.Cache, lim Limits) (_ *Result, ok bool, _ error) {
	m, err := runKrusty(ctx, mem, root, lim)
	if err != nil {
		return nil, false, &Error{Overlay: dir, Err: err}
	}
	if n := m.Size(); n > lim.MaxResources {
		return nil, false, &Error{Overlay: dir, Err: fmt.Errorf("%w: %d resources, over the limit of %d", ErrTooLarge, n, lim.MaxResources)}
	}
	res := &Result{}
	sources := newSourceIndex(t, dir, c, cache)
	var total int64
	for _, r := range m.Resources() {
		origin, _ := r.GetOrigin()
		if origin != nil {
			if err := r.SetOrigin(nil); err != nil {
				return nil, false, &Error{Overlay: dir, Err: err}
			}
		}
		obj, size, err := object(r.YNode())
		if err != nil {
			return nil, false, &Error{Overlay: dir, Err: err}
		}
		if total += size; total > lim.MaxRenderedBytes {
			return nil, false, &Error{Overlay: dir, Err: fmt.Errorf("%w: rendered output exceeds %d bytes", ErrTooLarge, lim.MaxRenderedBytes)}
		}
		located, ok := sources.locate(obj, origin)
		if !ok {
			return nil, false, nil
		}
		res.Objects = append(res.Objects, located)
	}
	return res, true, nil
}

// runKrusty builds root with kustomize's built-in transformers only, and
// gives up after the overlay's time limit. Kustomize cannot be cancelled:
// a build that overruns is abandoned, bounded by the input limits.
func runKrusty(ctx context.Context, mem filesys.FileSystem, root string, lim Limits) (resmap.ResMap, error) {
	opts := krusty.MakeDefaultOptions()
	// The in-memory filesystem holds only the repository's files the
	// overlay names, so it is the boundary: a file resource in a parent
	// directory ("../namespace.yaml", as Flux's kustomize-controller and
	// kustomize build --load-restrictor LoadRestrictionsNone read it) is
	// rendered rather than refused.
	opts.LoadRestrictions = types.LoadRestrictionsNone
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.PluginConfig.HelmConfig.Enabled = false
	opts.PluginConfig.FnpLoadingOptions.EnableExec = false
	opts.PluginConfig.FnpLoadingOptions.Network = false
	type result struct {
		m   resmap.ResMap
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("kustomize failed: %v", p)}
			}
		}()
		m, err := krusty.MakeKustomizer(opts).Run(mem, root)
		done <- result{m, err}
	}()
	timer := time.NewTimer(lim.Timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, cleanKustomizeError(r.err)
		}
		return r.m, nil
	case <-timer.C:
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, timedOut(lim.Timeout))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// timedOut is a render abandoned at the time limit: unlike every other
// failure, it depends on the machine's load rather than on the inputs.
type timedOut time.Duration

func (d timedOut) Error() string {
	return fmt.Sprintf("rendering took longer than %s", time.Duration(d))
}

func overlayError(dir string, err error) error {
	var re *Error
	if errors.As(err, &re) {
		re.Overlay = dir
		return re
	}
	return &Error{Overlay: dir, Err: err}
}

// addOriginAnnotations asks kustomize to stamp every object with the file it
// came from (buildMetadata: [originAnnotations]) in the in-memory copy. It
// appends the field rather than rewriting the file, so that kustomize's
// messages keep the file's own line numbers.
func addOriginAnnotations(mem filesys.FileSystem, dir string) error {
	for _, name := range KustomizationNames {
		p := path.Join(dir, name)
		if !mem.Exists(p) {
			continue
		}
		data, err := mem.ReadFile(p)
		if err != nil {
			return err
		}
		var k map[string]any
		if err := yaml.Unmarshal(data, &k); err != nil {
			return nil // kustomize reports the syntax error itself
		}
		if meta, ok := k["buildMetadata"]; !ok {
			out := append(bytes.TrimRight(data, " \t\r\n"), []byte("\nbuildMetadata: [originAnnotations]\n")...)
			if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) || bytes.Contains(data, []byte("\n---")) {
				k["buildMetadata"] = []any{types.OriginAnnotations}
				if out, err = yaml.Marshal(k); err != nil {
					return err
				}
			}
			return mem.WriteFile(p, out)
		} else {
			list, _ := meta.([]any)
			if slices.Contains(list, any(types.OriginAnnotations)) {
				return nil
			}
			k["buildMetadata"] = append(list, types.OriginAnnotations)
		}
		out, err := yaml.Marshal(k)
		if err != nil {
			return err
		}
		return mem.WriteFile(p, out)
	}
	return nil
}

// cleanKustomizeError makes kustomize's message readable: repository
// paths instead of in-memory ones, and the wrapping chain shortened.
func cleanKustomizeError(err error) error {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "'/", "'")
	msg = strings.ReplaceAll(msg, " /", " ")
	msg = strings.ReplaceAll(msg, "\"/", "\"")
	// "accumulating resources: accumulation err='…': must build at
	// directory: not a valid directory: 'x' doesn't exist" says the same
	// thing three times; keep what is wrong.
	if i := strings.LastIndex(msg, "doesn't exist"); i >= 0 {
		if m := quoted.FindAllStringSubmatchIndex(msg[:i], -1); len(m) > 0 {
			last := m[len(m)-1]
			msg = msg[last[2]:last[3]] + " does not exist"
		}
	}
	msg = strings.ReplaceAll(msg, "buildMetadata: [originAnnotations]", "")
	return errors.New(msg)
}
