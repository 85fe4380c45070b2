package token

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// configKinds are the configuration files this package reads that are
// not API objects: they have no metadata.name, so manifest.Decode refuses
// them, yet they sit in repositories beside the manifests.
var configKinds = map[string]string{
	"ClusterConfiguration":        "kubeadm.k8s.io",
	"AuthenticationConfiguration": "apiserver.config.k8s.io",
	"Config":                      "",              // kubeconfig: apiVersion v1, kind Config
	"Policy":                      "audit.k8s.io",  // read by diff/audit
	"Cluster":                     "kind.x-k8s.io", // read by diff/audit
	manifest.K3sConfigKind:        "k3s.cattle.io", // read by diff/audit
}

func isConfig(apiVersion, kind string) bool {
	g, ok := configKinds[kind]
	if !ok {
		return false
	}
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i] == g
	}
	return g == "" && apiVersion == "v1"
}

// maxConfigBytes bounds an embedded configuration document.
const maxConfigBytes = 1 << 20

// configObject turns one YAML document into an object when it is a
// configuration this package reads. Lines of the node are moved down by
// shift first, for documents embedded in another file.
func configObject(file string, node *yaml.Node, shift int) *manifest.Object {
	root := node
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil
	}
	v, _, err := manifest.Value(root)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil
	}
	o := manifest.FromBody(m)
	if !isConfig(o.APIVersion, o.Kind) {
		return nil
	}
	if shift != 0 {
		shiftLines(root, shift)
	}
	return o.WithSource(file, root)
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// flattenLines puts every node of n on one line.
func flattenLines(n *yaml.Node, line int) {
	n.Line = line
	for _, c := range n.Content {
		flattenLines(c, line)
	}
}

// embedded is a configuration written as a string value of a ConfigMap.
type embedded struct {
	holder *manifest.Object // the ConfigMap
	key    string
	obj    *manifest.Object // the configuration, its lines in the holder's file
}

// embeddedConfigs finds configurations in ConfigMap data values. When the
// ConfigMap's source holds the value as a literal block, lines inside the
// configuration map to lines of the file; otherwise they all point at the
// key.
func embeddedConfigs(objs []*manifest.Object) []embedded {
	var out []embedded
	for _, cm := range objs {
		if cm.Kind != "ConfigMap" || cm.Group() != "" {
			continue
		}
		data, _ := cm.Get("data").(map[string]any)
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v, _ := data[k].(string)
			if len(v) > maxConfigBytes || !strings.Contains(v, "kind:") {
				continue
			}
			var node yaml.Node
			if err := yaml.Unmarshal([]byte(v), &node); err != nil {
				continue
			}
			keyLine := cm.LineOf("data", k)
			if literalBlock(cm, k, v) {
				shiftLines(&node, keyLine.Line)
			} else {
				flattenLines(&node, keyLine.Line)
			}
			o := configObject(keyLine.Path, &node, 0)
			if o == nil {
				continue
			}
			o.Namespace, o.Name = cm.Namespace, cm.Name+"/"+k
			out = append(out, embedded{holder: cm, key: k, obj: o})
		}
	}
	return out
}

// literalBlock says whether the source of cm writes data[key] as a
// "|" block holding exactly v, so line n of v is line key+n of the file.
func literalBlock(cm *manifest.Object, key, v string) bool {
	n := cm.Source()
	for _, step := range []string{"data", key} {
		if n == nil || n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == step {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n != nil && n.Kind == yaml.ScalarNode && n.Style&yaml.LiteralStyle != 0 && n.Value == v
}

// cfg is a configuration object and where it is written.
type cfg struct {
	obj    *manifest.Object
	holder *manifest.Object // the ConfigMap holding it, or obj itself
	key    string           // the ConfigMap key, "" for a file of its own
}

func (c cfg) String() string {
	if c.key != "" {
		return fmt.Sprintf("%s in %s key %s", c.obj.Kind, c.holder, c.key)
	}
	if c.obj.Name == c.obj.Origin.Path {
		return c.obj.Kind + " in " + c.obj.Name
	}
	return c.obj.String()
}

// ident is the configuration's identity across revisions.
func (c cfg) ident() string {
	return c.obj.Kind + "|" + c.holder.Namespace + "|" + c.holder.Name + "|" + c.key
}

// configs lists the configurations of objs: files of their own and those
// embedded in ConfigMaps.
func configs(objs []*manifest.Object) []cfg {
	var out []cfg
	for _, o := range objs {
		if isConfig(o.APIVersion, o.Kind) {
			out = append(out, cfg{obj: o, holder: o})
		}
	}
	for _, e := range embeddedConfigs(objs) {
		out = append(out, cfg{obj: e.obj, holder: e.holder, key: e.key})
	}
	return out
}

// holderNS is the namespace of the object holding a configuration: a
// ConfigMap's (defaulted), none for a configuration file.
func (c *checker) holderNS(cf cfg) string {
	if cf.key == "" {
		return cf.holder.Namespace
	}
	return c.ns(cf.holder)
}
