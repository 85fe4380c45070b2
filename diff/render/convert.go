package render

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// object turns one of kustomize's rendered nodes into an object without
// printing and parsing it again (that round trip was a quarter of the
// render time); size counts the bytes of keys and scalars, a measure of the
// rendered output.
func object(n *yaml.Node) (*manifest.Object, int64, error) {
	v, size, err := manifest.Value(n)
	if err != nil {
		return nil, size, err
	}
	body, ok := v.(map[string]any)
	if !ok {
		return nil, size, fmt.Errorf("rendered a %T, not an object", v)
	}
	return manifest.FromBody(body), size, nil
}
