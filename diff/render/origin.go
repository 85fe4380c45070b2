package render

import (
	"io/fs"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/source"
)

// sourceIndex maps rendered objects back to the documents that defined
// them, so that lines point into the repository rather than into
// kustomize's output.
type sourceIndex struct {
	tree source.Tree
	docs map[string][]*yaml.Node
}

// locate finds where obj was written. orgName is its name before
// kustomize added prefixes and suffixes.
func (s *sourceIndex) locate(obj *manifest.Object, orgName, overlay string, origin *resource.Origin) *manifest.Object {
	kustomization := path.Join(overlay, KustomizationNames[0])
	if origin == nil || origin.Path == "" {
		// Generated (configMapGenerator, secretGenerator): point at the
		// kustomization that configured it.
		if origin != nil && origin.ConfiguredIn != "" {
			kustomization = path.Clean(path.Join(overlay, origin.ConfiguredIn))
		}
		out := *obj
		out.Origin = manifest.Location{Path: kustomization, Line: 1}
		return &out
	}
	file := path.Clean(path.Join(overlay, origin.Path))
	for _, doc := range s.load(file) {
		if scalar(doc, "kind") == obj.Kind && scalar(mapping(doc, "metadata"), "name") == orgName {
			return obj.WithSource(file, doc)
		}
	}
	out := *obj
	out.Origin = manifest.Location{Path: file, Line: 1}
	return &out
}

func (s *sourceIndex) load(file string) []*yaml.Node {
	if docs, ok := s.docs[file]; ok {
		return docs
	}
	var docs []*yaml.Node
	if data, err := fs.ReadFile(s.tree, file); err == nil {
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		for {
			var n yaml.Node
			if dec.Decode(&n) != nil {
				break
			}
			if len(n.Content) > 0 {
				docs = append(docs, n.Content[0])
			}
		}
	}
	s.docs[file] = docs
	return docs
}

func mapping(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node, key string) string {
	if v := mapping(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
