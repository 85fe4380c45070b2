// Package manifest decodes Kubernetes YAML into objects that remember where
// each of their fields was written, so every later stage can point a
// reviewer at a file and line. It is the shared vocabulary of render (which
// produces objects) and the engines (which read them).
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Location is a line in a file of the repository.
type Location struct {
	Path string
	Line int
}

func (l Location) String() string {
	if l.Line == 0 {
		return l.Path
	}
	return l.Path + ":" + strconv.Itoa(l.Line)
}

// Object is one Kubernetes object with its source.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Body is the whole decoded object, as encoding/json would decode it.
	Body map[string]any
	// Origin is the document (or List item) the object came from.
	Origin Location
	// src is the YAML node of the object in Origin.Path, used to find the
	// line of any field. It may describe the object before kustomize
	// transformed it; LineOf then falls back to the nearest field it has.
	src *yaml.Node
	// written holds the lines of fields that a later layer (a kustomize
	// patch, a namespace transformer) wrote over the source, keyed by
	// fieldKey of their path. LineOf prefers them where they are at least
	// as deep as what src has.
	written map[string]Location
}

// Group returns the API group of the object ("" for the core group).
func (o *Object) Group() string {
	if i := strings.IndexByte(o.APIVersion, '/'); i >= 0 {
		return o.APIVersion[:i]
	}
	return ""
}

// String reads "Kind namespace/name" or "Kind name".
func (o *Object) String() string {
	if o.Namespace != "" {
		return o.Kind + " " + o.Namespace + "/" + o.Name
	}
	return o.Kind + " " + o.Name
}

// Identity is what makes two objects the same object in one cluster:
// API group, kind, namespace and name (the version does not count).
func (o *Object) Identity() string {
	return o.Group() + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

// LineOf returns the location of the field at path (keys and indexes, e.g.
// "rules", 2, "verbs", 0). When the source lacks part of the path — the field
// was added by a kustomize patch, say — it returns the deepest field it has.
func (o *Object) LineOf(path ...any) Location {
	loc, depth := o.srcLine(path)
	for d := len(path); d > 0 && d >= depth && len(o.written) > 0; d-- {
		if w, ok := o.written[fieldKey(path[:d])]; ok {
			return w
		}
	}
	return loc
}

// srcLine walks src along path and returns the line of the deepest field
// found and how many path elements it matched.
func (o *Object) srcLine(path []any) (Location, int) {
	loc := o.Origin
	n := o.src
	depth := 0
	for _, p := range path {
		if n == nil {
			break
		}
		var next, at *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						at, next = n.Content[i], n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k >= 0 && k < len(n.Content) {
				at, next = n.Content[k], n.Content[k]
			}
		}
		if next == nil {
			break
		}
		loc.Line = at.Line
		n = next
		depth++
	}
	return loc, depth
}

// SetLine records that the field at path (and, unless a deeper entry says
// otherwise, everything under it) was written at loc, over whatever the
// source document had: render calls it for fields a patch or transformer
// set. It returns o for chaining.
func (o *Object) SetLine(loc Location, path ...any) *Object {
	if o.written == nil {
		o.written = map[string]Location{}
	}
	o.written[fieldKey(path)] = loc
	return o
}

func fieldKey(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case string:
			b.WriteString("/s:")
			b.WriteString(strings.ReplaceAll(k, "/", "~1"))
		case int:
			b.WriteString("/i:")
			b.WriteString(strconv.Itoa(k))
		default:
			fmt.Fprintf(&b, "/?:%v", k)
		}
	}
	return b.String()
}

// WithSource returns a copy of o whose field lines come from node in path;
// render uses it to point kustomize output back at the file that defined it.
func (o Object) WithSource(path string, node *yaml.Node) *Object {
	o.written = nil
	o.Origin = Location{Path: path, Line: node.Line}
	o.src = node
	if o.src.Kind == yaml.DocumentNode && len(o.src.Content) > 0 {
		o.src = o.src.Content[0]
	}
	o.Origin.Line = o.src.Line
	return &o
}

// Source returns the YAML node the object's lines come from (nil if none).
func (o *Object) Source() *yaml.Node { return o.src }

// DocError is a document that could not be read as an object.
type DocError struct {
	Path string
	Doc  int // 1-based index of the document in the file
	Line int
	Err  error
	// Kinds are the kinds the document names, as far as they can be read
	// (a document that does not parse: every "kind:" of the file's rest);
	// empty when none can be.
	Kinds []string
}

func (e *DocError) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	return fmt.Sprintf("%s: document %d: %v", loc, e.Doc, e.Err)
}

func (e *DocError) Unwrap() error { return e.Err }

// ErrNotObject marks a document that has no apiVersion and kind: YAML that is
// not a Kubernetes manifest (a values file, a config, a kustomization).
var ErrNotObject = errors.New("not a Kubernetes object: it needs apiVersion, kind and metadata.name")

// ErrNotMapping and ErrNoKind mark documents that are not objects either: a
// list or a scalar, and a mapping with an apiVersion but neither kind nor
// metadata (a Helm Chart.yaml). In a file with objects they are broken
// manifests; in a file with none, the file is some other YAML.
var (
	ErrNotMapping = errors.New("want a mapping (an object)")
	ErrNoKind     = errors.New("kind is missing: a Kubernetes object needs apiVersion, kind and metadata.name")
)

// Decode reads every document of a YAML (or JSON) file. Lists (kind ending
// in "List" with items) are expanded. Documents that cannot be read are
// returned as *DocError values beside the objects that could; one bad
// document never hides the others.
func Decode(path string, data []byte) ([]*Object, []error) {
	var objs []*Object
	var errs []error
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The decoder cannot resynchronise after a syntax error.
			line := yamlErrLine(err)
			errs = append(errs, &DocError{Path: path, Doc: doc, Line: line, Err: cleanYAMLError(err), Kinds: kindsNamed(data)})
			break
		}
		root := &node
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue // an empty document between "---" separators
		}
		o, err := decodeObject(path, root)
		if err != nil {
			var kinds []string
			if k := kindOf(root); k != "" {
				kinds = []string{k}
			}
			errs = append(errs, &DocError{Path: path, Doc: doc, Line: root.Line, Err: err, Kinds: kinds})
			continue
		}
		if items, ok := listItems(o, root); ok {
			for i, item := range items {
				io, err := decodeObject(path, item)
				if err != nil {
					errs = append(errs, &DocError{Path: path, Doc: doc, Line: item.Line, Err: fmt.Errorf("items[%d]: %w", i, err)})
					continue
				}
				objs = append(objs, io)
			}
			continue
		}
		objs = append(objs, o)
	}
	return objs, errs
}

func decodeObject(path string, n *yaml.Node) (*Object, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w, found a %s", ErrNotMapping, nodeKind(n))
	}
	v, _, err := Value(n)
	if err != nil {
		return nil, err
	}
	o := FromBody(v.(map[string]any))
	o.Origin, o.src = Location{Path: path, Line: n.Line}, n
	if o.APIVersion == "" && o.Kind == "" && o.Get("kube-apiserver-arg") != nil {
		// A k3s or RKE2 server configuration (/etc/rancher/*/config.yaml):
		// no kind, but it sets kube-apiserver's flags, which the token
		// and audit checks read.
		o.APIVersion, o.Kind = K3sConfigAPIVersion, K3sConfigKind
		o.Body["apiVersion"], o.Body["kind"] = o.APIVersion, o.Kind
	}
	switch {
	case o.APIVersion == "" && o.Kind == "":
		return nil, ErrNotObject
	case o.Kind == "" && o.Get("metadata") == nil:
		return nil, ErrNoKind // apiVersion alone: a Chart.yaml, a config file
	case o.Kind == "":
		// Half a manifest is a broken manifest, not some other YAML:
		// kubectl rejects it, and it may have been meant to grant anything.
		return nil, errors.New("kind is missing: a Kubernetes object needs apiVersion, kind and metadata.name")
	case o.APIVersion == "":
		return nil, fmt.Errorf("%s has no apiVersion: a Kubernetes object needs apiVersion, kind and metadata.name", o.Kind)
	}
	if o.Name == "" && isConfigFile(o) {
		// Configuration files (kubeadm, kube-apiserver, kubeconfig) are
		// named by their path: there is one per file.
		o.Name = path
	}
	if o.Name == "" {
		// kubectl create names it from metadata.generateName (Argo
		// Workflows, Jobs): a real object whose name the server picks.
		o.Name = o.Str("metadata", "generateName")
	}
	if o.Name == "" && !isList(o) {
		return nil, fmt.Errorf("%s has no metadata.name", o.Kind)
	}
	return o, nil
}

// K3sConfigAPIVersion and K3sConfigKind name a k3s or RKE2 server
// configuration file, which has neither: the pair is rbacguard's own, so
// that the file travels through rendering like any configuration file.
const (
	K3sConfigAPIVersion = "k3s.cattle.io/config"
	K3sConfigKind       = "ServerConfig"
)

// isConfigFile reports kinds that are configuration files read by a
// Kubernetes component rather than API objects: they carry no
// metadata.name.
func isConfigFile(o *Object) bool {
	g := o.Group()
	return g == "kubeadm.k8s.io" || strings.HasSuffix(g, ".config.k8s.io") || g == "audit.k8s.io" || g == "kind.x-k8s.io" ||
		o.APIVersion == K3sConfigAPIVersion ||
		o.APIVersion == "v1" && o.Kind == "Config"
}

func isList(o *Object) bool {
	_, ok := o.Body["items"].([]any)
	return ok && strings.HasSuffix(o.Kind, "List")
}

func listItems(o *Object, n *yaml.Node) ([]*yaml.Node, bool) {
	if !isList(o) {
		return nil, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "items" && n.Content[i+1].Kind == yaml.SequenceNode {
			return n.Content[i+1].Content, true
		}
	}
	return nil, true
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("scalar %q", truncate(n.Value, 40))
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// yamlErrLine pulls the line number out of a yaml.v3 error message.
func yamlErrLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, e := strconv.Atoi(rest[:j]); e == nil {
			return n
		}
	}
	return 0
}

func cleanYAMLError(err error) error {
	return &SyntaxError{msg: strings.TrimPrefix(err.Error(), "yaml: ")}
}

// SyntaxError is a document that does not parse as YAML.
type SyntaxError struct{ msg string }

func (e *SyntaxError) Error() string { return e.msg }

// Str returns the string at a path of map keys, or "".
func (o *Object) Str(path ...string) string {
	v, _ := o.Get(path...).(string)
	return v
}

// Get returns the value at a path of map keys, or nil.
func (o *Object) Get(path ...string) any {
	var v any = o.Body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// kindOf is the kind a mapping names, or "".
func kindOf(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "kind" && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// kindLine finds "kind: X" lines in text that may not parse.
var kindLine = regexp.MustCompile(`(?m)^\s*["']?kind["']?\s*:\s*["']?([A-Za-z][A-Za-z0-9]*)`)

// kindsNamed lists the kinds a file's text names, in order, once each.
func kindsNamed(data []byte) []string {
	var out []string
	for _, m := range kindLine.FindAllSubmatch(data, -1) {
		if k := string(m[1]); !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
