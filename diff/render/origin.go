package render

import (
	"bufio"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/source"
)

// sourceIndex maps rendered objects back to the documents, patches and
// kustomization lines that wrote them, so that lines point into the
// repository rather than into kustomize's output.
type sourceIndex struct {
	tree    source.Tree
	overlay string
	c       *closure
	cache   *manifest.Cache // shares parsed files between overlays
	docs    map[string][]*yaml.Node
}

func newSourceIndex(t source.Tree, overlay string, c *closure, cache *manifest.Cache) *sourceIndex {
	idx := &sourceIndex{tree: t, overlay: overlay, c: c, cache: cache, docs: map[string][]*yaml.Node{}}
	// Deeper kustomizations patch first; a later patch's lines win.
	slices.SortStableFunc(idx.c.patches, func(a, b *patch) int { return b.depth - a.depth })
	return idx
}

// locate finds where obj was written, from kustomize's origin annotation
// when the overlay was rendered with one, else from the closure's
// resource files and generators. ok is false when that is ambiguous:
// the caller then renders again with origin annotations.
func (s *sourceIndex) locate(obj *manifest.Object, origin *resource.Origin) (_ *manifest.Object, ok bool) {
	var file, kust string
	switch {
	case origin != nil && origin.Path != "":
		file = path.Clean(path.Join(s.overlay, origin.Path))
	case origin != nil:
		kust = s.rootKust()
		if origin.ConfiguredIn != "" {
			kust = path.Clean(path.Join(s.overlay, origin.ConfiguredIn))
		}
	default:
		if file, kust, ok = s.resolve(obj); !ok {
			return nil, false
		}
	}
	orgName := s.orgName(obj, file)
	if file != "" {
		obj = s.document(obj, orgName, file)
	} else {
		obj = s.generated(obj, orgName, kust)
	}
	for _, p := range s.c.patches {
		if p.applies(obj, orgName) {
			p.trace(obj)
		}
	}
	s.transformers(obj, orgName)
	return obj, true
}

func (s *sourceIndex) rootKust() string {
	if len(s.c.kusts) > 0 {
		return s.c.kusts[0].path
	}
	return path.Join(s.overlay, KustomizationNames[0])
}

// resolve finds the one resource file document or generator that can
// have produced obj, matching kind and name (less the closure's prefixes,
// suffixes and generator hashes) and, among several, namespace.
func (s *sourceIndex) resolve(obj *manifest.Object) (file, kust string, ok bool) {
	names := s.nameCandidates(obj.Name)
	type hit struct {
		file string
		ns   string
	}
	var hits []hit
	for _, f := range s.c.resources {
		for _, doc := range s.load(f) {
			if scalar(doc, "kind") != obj.Kind {
				continue
			}
			meta := child(doc, "metadata")
			if slices.Contains(names, scalar(meta, "name")) {
				hits = append(hits, hit{f, scalar(meta, "namespace")})
			}
		}
	}
	for _, k := range s.c.kusts {
		field := map[string]string{"ConfigMap": "configMapGenerator", "Secret": "secretGenerator"}[obj.Kind]
		for _, g := range seq(child(k.root, field)) {
			if slices.Contains(names, scalar(g, "name")) {
				hits = append(hits, hit{"\x00" + k.path, scalar(g, "namespace")})
			}
		}
	}
	if len(hits) > 1 {
		hits = slices.DeleteFunc(hits, func(h hit) bool { return h.ns != obj.Namespace })
	}
	if len(hits) != 1 {
		return "", "", false
	}
	if k, gen := strings.CutPrefix(hits[0].file, "\x00"); gen {
		return "", k, true
	}
	return hits[0].file, "", true
}

// nameCandidates lists what name may have been before the closure's
// prefixes, suffixes and generator hashes were added.
func (s *sourceIndex) nameCandidates(name string) []string {
	cands := []string{name, hashSuffix.ReplaceAllString(name, "")}
	for i := 0; i < len(cands) && len(cands) < 64; i++ {
		for _, k := range s.c.kusts {
			if k.namePrefix != nil && k.namePrefix.Value != "" {
				if c, ok := strings.CutPrefix(cands[i], k.namePrefix.Value); ok && !slices.Contains(cands, c) {
					cands = append(cands, c)
				}
			}
			if k.nameSuffix != nil && k.nameSuffix.Value != "" {
				if c, ok := strings.CutSuffix(cands[i], k.nameSuffix.Value); ok && !slices.Contains(cands, c) {
					cands = append(cands, c)
				}
			}
		}
	}
	return cands
}

// document sets the object's source: the document (or List item) of file
// it came from. Among several of one kind and name (a RoleList with the
// same Role in three namespaces), the one in obj's namespace.
func (s *sourceIndex) document(obj *manifest.Object, orgName, file string) *manifest.Object {
	var found *yaml.Node
	for _, doc := range s.load(file) {
		if scalar(doc, "kind") != obj.Kind || scalar(child(doc, "metadata"), "name") != orgName {
			continue
		}
		if found == nil || scalar(child(doc, "metadata"), "namespace") == obj.Namespace {
			found = doc
		}
		if scalar(child(doc, "metadata"), "namespace") == obj.Namespace {
			break
		}
	}
	if found == nil {
		return unlocated(obj, file)
	}
	return obj.WithSource(file, found)
}

// unlocated points obj at line 1 of file, dropping the lines of
// kustomize's output that decoding gave it.
func unlocated(obj *manifest.Object, file string) *manifest.Object {
	return obj.WithSource(file, &yaml.Node{Kind: yaml.MappingNode, Line: 1})
}

// hashSuffix is the content hash kustomize appends to generated names.
var hashSuffix = regexp.MustCompile(`-[a-z0-9]{10}$`)

// orgName recovers the name obj had in its source document (file, or
// the generators when file is ""): kustomize drops its record of previous
// names from the output.
func (s *sourceIndex) orgName(obj *manifest.Object, file string) string {
	var names []string
	if file != "" {
		for _, doc := range s.load(file) {
			if scalar(doc, "kind") == obj.Kind {
				names = append(names, scalar(child(doc, "metadata"), "name"))
			}
		}
	} else {
		for _, k := range s.c.kusts {
			for _, field := range []string{"configMapGenerator", "secretGenerator"} {
				for _, g := range seq(child(k.root, field)) {
					names = append(names, scalar(g, "name"))
				}
			}
		}
	}
	for _, c := range s.nameCandidates(obj.Name) {
		if slices.Contains(names, c) {
			return c
		}
	}
	if len(names) == 1 {
		return names[0]
	}
	return obj.Name
}

// generated points a generated ConfigMap or Secret at its generator entry
// and each data key at the literal or env line that set it.
func (s *sourceIndex) generated(obj *manifest.Object, orgName, kust string) *manifest.Object {
	out := unlocated(obj, kust)
	var k *kustFile
	for _, kf := range s.c.kusts {
		if kf.path == kust {
			k = kf
		}
	}
	if k == nil {
		return out
	}
	field := map[string]string{"ConfigMap": "configMapGenerator", "Secret": "secretGenerator"}[obj.Kind]
	gens := child(k.root, field)
	if gens == nil || gens.Kind != yaml.SequenceNode {
		return out
	}
	for _, g := range gens.Content {
		if scalar(g, "name") != orgName {
			continue
		}
		o := obj.WithSource(kust, g)
		if lits := child(g, "literals"); lits != nil {
			for _, l := range lits.Content {
				if key, _, ok := strings.Cut(l.Value, "="); ok {
					o.SetLine(manifest.Location{Path: kust, Line: l.Line}, "data", strings.TrimSpace(key))
					o.SetLine(manifest.Location{Path: kust, Line: l.Line}, "stringData", strings.TrimSpace(key))
				}
			}
		}
		envs := append([]*yaml.Node{}, seq(child(g, "envs"))...)
		if e := child(g, "env"); e != nil && e.Kind == yaml.ScalarNode {
			envs = append(envs, e)
		}
		for _, e := range envs {
			file := path.Clean(path.Join(k.dir, e.Value))
			data, err := fs.ReadFile(s.tree, file)
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			for line := 1; sc.Scan(); line++ {
				if key, _, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(strings.TrimSpace(key), "#") {
					o.SetLine(manifest.Location{Path: file, Line: line}, "data", strings.TrimSpace(key))
				}
			}
		}
		for _, f := range seq(child(g, "files")) {
			key, file, ok := strings.Cut(f.Value, "=")
			if !ok {
				key = path.Base(f.Value)
			}
			_ = file
			o.SetLine(manifest.Location{Path: kust, Line: f.Line}, "data", key)
		}
		return o
	}
	return out
}

// transformers traces the fields kustomize's namespace and name
// transformers wrote: the namespace (of the object and of its
// ServiceAccount subjects) and a prefixed or suffixed name.
func (s *sourceIndex) transformers(obj *manifest.Object, orgName string) {
	src := obj.Source()
	for _, k := range s.c.kusts { // root first: the outermost transformer wins
		if k.namespace == nil || k.namespace.Value != obj.Namespace || obj.Namespace == "" {
			continue
		}
		at := manifest.Location{Path: k.path, Line: k.namespace.Line}
		if scalar(child(src, "metadata"), "namespace") != obj.Namespace {
			obj.SetLine(at, "metadata", "namespace")
		}
		subjects, _ := obj.Body["subjects"].([]any)
		srcSubjects := seq(child(src, "subjects"))
		for i, sub := range subjects {
			m, _ := sub.(map[string]any)
			if m["namespace"] != obj.Namespace {
				continue
			}
			if i < len(srcSubjects) && scalar(srcSubjects[i], "namespace") == obj.Namespace {
				continue
			}
			obj.SetLine(at, "subjects", i, "namespace")
		}
		break
	}
	s.labels(obj)
	if obj.Name == orgName {
		return
	}
	for _, k := range s.c.kusts {
		if k.namePrefix != nil && k.namePrefix.Value != "" && strings.HasPrefix(obj.Name, k.namePrefix.Value) {
			obj.SetLine(manifest.Location{Path: k.path, Line: k.namePrefix.Line}, "metadata", "name")
			return
		}
		if k.nameSuffix != nil && k.nameSuffix.Value != "" && strings.HasSuffix(obj.Name, k.nameSuffix.Value) {
			obj.SetLine(manifest.Location{Path: k.path, Line: k.nameSuffix.Line}, "metadata", "name")
			return
		}
	}
}

// labels traces metadata labels a kustomization's commonLabels or labels
// added (an aggregation label among them reaches every ClusterRole of the
// overlay), the outermost kustomization first.
func (s *sourceIndex) labels(obj *manifest.Object) {
	meta, _ := obj.Body["metadata"].(map[string]any)
	have, _ := meta["labels"].(map[string]any)
	if len(have) == 0 {
		return
	}
	srcLabels := child(child(obj.Source(), "metadata"), "labels")
	done := map[string]bool{}
	set := func(k *kustFile, m *yaml.Node) {
		for i := 0; m != nil && m.Kind == yaml.MappingNode && i+1 < len(m.Content); i += 2 {
			key, val := m.Content[i], m.Content[i+1]
			if done[key.Value] || fmt.Sprint(have[key.Value]) != val.Value || scalar(srcLabels, key.Value) == val.Value {
				continue
			}
			done[key.Value] = true
			obj.SetLine(manifest.Location{Path: k.path, Line: key.Line}, "metadata", "labels", key.Value)
		}
	}
	for _, k := range s.c.kusts {
		set(k, child(k.root, "commonLabels"))
		for _, l := range seq(child(k.root, "labels")) {
			set(k, child(l, "pairs"))
		}
	}
}

func seq(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func (s *sourceIndex) load(file string) []*yaml.Node {
	if docs, ok := s.docs[file]; ok {
		return docs
	}
	var docs []*yaml.Node
	if data, err := fs.ReadFile(s.tree, file); err == nil {
		for _, doc := range s.cache.Nodes(file, data) {
			// kustomize expands a List into its items: so does the index,
			// so that an item's lines are its own and not the List's.
			if items := seq(child(doc, "items")); items != nil && strings.HasSuffix(scalar(doc, "kind"), "List") {
				docs = append(docs, items...)
				continue
			}
			docs = append(docs, doc)
		}
	}
	s.docs[file] = docs
	return docs
}
