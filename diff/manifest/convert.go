package manifest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxValues bounds the values one document may expand to, aliases
// included, so that a "billion laughs" document ends in an error instead of
// exhausting memory.
const maxValues = 1 << 20

var errAliasBomb = errors.New("document expands to too many values (an alias bomb?)")

// converter turns a parsed node into the values encoding/json would produce
// (map[string]any, []any, string, int64, float64, bool, nil). It is the hot
// path of rendering plain YAML, so it avoids yaml.v3's reflective Decode.
type converter struct {
	budget int
	depth  int
	size   int64 // bytes of keys and scalar values seen
}

// Value converts a parsed YAML node into the values encoding/json would
// produce, and counts the bytes of its keys and scalars (a measure of
// rendered output). Aliases are followed within a budget, so an alias bomb
// ends in an error.
func Value(n *yaml.Node) (v any, size int64, err error) {
	c := &converter{budget: maxValues}
	v, err = c.value(n)
	return v, c.size, err
}

// FromBody makes an object of a decoded body. It has no source lines
// until WithSource gives it some.
func FromBody(body map[string]any) *Object {
	o := &Object{Body: body}
	o.APIVersion, _ = body["apiVersion"].(string)
	o.Kind, _ = body["kind"].(string)
	if meta, ok := body["metadata"].(map[string]any); ok {
		o.Name, _ = meta["name"].(string)
		o.Namespace, _ = meta["namespace"].(string)
	}
	return o
}

func (c *converter) value(n *yaml.Node) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, errAliasBomb
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 1000 {
		return nil, fmt.Errorf("line %d: nesting deeper than 1000 levels", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0])
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias", n.Line)
		}
		return c.value(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" || k.Value == "<<" && k.Tag != "!!str" && k.Style == 0 {
				if err := c.merge(m, v); err != nil {
					return nil, err
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a plain value", k.Line)
			}
			c.size += int64(len(k.Value))
			val, err := c.value(v)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		c.size += int64(len(n.Value))
		return scalarValue(n)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// merge applies a "<<" merge key: keys already set win.
func (c *converter) merge(m map[string]any, v *yaml.Node) error {
	srcs := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	}
	for _, src := range srcs {
		val, err := c.value(src)
		if err != nil {
			return err
		}
		mm, ok := val.(map[string]any)
		if !ok {
			return fmt.Errorf("line %d: a merge key needs a mapping", v.Line)
		}
		for k, x := range mm {
			if _, set := m[k]; !set {
				m[k] = x
			}
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) (any, error) {
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
		if strings.HasPrefix(v, "0o") || strings.HasPrefix(v, "-0o") {
			if i, err := strconv.ParseInt(strings.Replace(v, "0o", "0", 1), 8, 64); err == nil {
				return i, nil
			}
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
		return n.Value, nil
	case "!!binary", "!!timestamp", "!!str":
		return n.Value, nil
	}
	return n.Value, nil
}
