package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// object turns one of kustomize's rendered nodes into an object without
// printing and parsing it again (that round trip was a quarter of the
// render time). Values are those encoding/json would give, as
// manifest.Decode produces; size counts the bytes of keys and scalars, a
// measure of the rendered output.
func object(n *yaml.Node) (_ *manifest.Object, size int64, _ error) {
	v, err := nodeValue(n, &size, 0)
	if err != nil {
		return nil, size, err
	}
	body, ok := v.(map[string]any)
	if !ok {
		return nil, size, fmt.Errorf("rendered a %T, not an object", v)
	}
	o := &manifest.Object{Body: body}
	o.APIVersion, _ = body["apiVersion"].(string)
	o.Kind, _ = body["kind"].(string)
	if meta, ok := body["metadata"].(map[string]any); ok {
		o.Name, _ = meta["name"].(string)
		o.Namespace, _ = meta["namespace"].(string)
	}
	return o, size, nil
}

func nodeValue(n *yaml.Node, size *int64, depth int) (any, error) {
	if depth > 1000 {
		return nil, fmt.Errorf("line %d: nesting deeper than 1000 levels", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0], size, depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		return nodeValue(n.Alias, size, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			*size += int64(len(n.Content[i].Value))
			v, err := nodeValue(n.Content[i+1], size, depth+1)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c, size, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	}
	*size += int64(len(n.Value))
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on", "y":
			return true, nil
		}
		return false, nil
	case "!!int":
		v := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(v, 0, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(v, 0, 64); err == nil {
			return float64(u), nil
		}
		return n.Value, nil
	case "!!float":
		switch strings.ToLower(n.Value) {
		case ".inf", "+.inf":
			return math.Inf(1), nil
		case "-.inf":
			return math.Inf(-1), nil
		case ".nan":
			return math.NaN(), nil
		}
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
			return f, nil
		}
	}
	return n.Value, nil
}
