package token

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

// This file lends the readers of this package to diff/audit, which checks
// the API server's audit settings: the same kube-apiserver command lines
// (static pods, kubeadm ClusterConfiguration) and the same configuration
// files (on their own or in ConfigMap values).

// APIServer is one kube-apiserver command line of a tree.
type APIServer struct {
	// ID is its identity across revisions; Desc names it for a reader.
	ID, Desc string
	// At is the line of the command line (a container, extraArgs).
	At  report.Location
	srv apiserver
}

// Flag returns the value pflag keeps for a flag (the last written) and
// its line; ok is false when the flag is not written.
func (a APIServer) Flag(name string) (value string, at report.Location, ok bool) {
	vs := a.srv.flags[name]
	if len(vs) == 0 {
		return "", report.Location{}, false
	}
	v := vs[len(vs)-1]
	return v.value, loc(v.at), true
}

// APIServers lists the kube-apiserver command lines among objs.
func APIServers(objs []*manifest.Object, defaultNS string) []APIServer {
	c := newChecker("", Options{DefaultNamespace: defaultNS})
	var out []APIServer
	for _, a := range c.apiservers(c.snapshot(objs)) {
		out = append(out, APIServer{ID: a.id, Desc: a.desc, At: loc(a.anchor), srv: a})
	}
	return out
}

// Config is a configuration file of a tree: a file of its own, or the
// value of a ConfigMap key, its lines those of the holder's file.
type Config struct {
	Obj *manifest.Object
	// ID is its identity across revisions; Desc names it for a reader.
	ID, Desc string
}

// Configs lists the configurations of kind among objs.
func Configs(objs []*manifest.Object, kind string) []Config {
	var out []Config
	for _, cf := range configs(objs) {
		if cf.obj.Kind == kind {
			out = append(out, Config{Obj: cf.obj, ID: cf.ident(), Desc: cf.String()})
		}
	}
	return out
}

// KindAPIServers reads the kube-apiserver flags that kind cluster
// configurations (kind.x-k8s.io Cluster) pass in ClusterConfiguration
// patches (kubeadmConfigPatches, at the top and per node): one server per
// configuration, the flags of later patches after those of earlier ones,
// as kubeadm merges them, each at its patch's line. This package does not
// check them itself: they configure throwaway clusters.
func KindAPIServers(objs []*manifest.Object) []APIServer {
	var out []APIServer
	for _, cf := range configs(objs) {
		if cf.obj.Kind != "Cluster" {
			continue
		}
		merged := apiserver{id: "kind|" + cf.ident(), desc: "kube-apiserver of kind " + cf.String(), holder: cf.holder,
			anchor: cf.obj.Origin, flags: map[string][]flagVal{}}
		type patch struct {
			at   []any
			text string
		}
		var patches []patch
		for i, text := range strs(cf.obj.Get("kubeadmConfigPatches")) {
			patches = append(patches, patch{[]any{"kubeadmConfigPatches", i}, text})
		}
		nodes, _ := cf.obj.Get("nodes").([]any)
		for n, nv := range nodes {
			node, _ := nv.(map[string]any)
			for i, text := range strs(node["kubeadmConfigPatches"]) {
				patches = append(patches, patch{[]any{"nodes", n, "kubeadmConfigPatches", i}, text})
			}
		}
		for _, p := range patches {
			text, at := p.text, cf.obj.LineOf(p.at...)
			var node yaml.Node
			if len(text) > maxConfigBytes || yaml.Unmarshal([]byte(text), &node) != nil || len(node.Content) == 0 {
				continue
			}
			flattenLines(&node, at.Line)
			v, _, err := manifest.Value(node.Content[0])
			m, ok := v.(map[string]any)
			if err != nil || !ok || m["kind"] != "ClusterConfiguration" {
				continue
			}
			patch := manifest.FromBody(m).WithSource(at.Path, &node)
			a, ok := kubeadmServer(cfg{obj: patch, holder: cf.holder}, "")
			if !ok {
				continue
			}
			if merged.anchor == cf.obj.Origin {
				merged.anchor = at
			}
			for name, vs := range a.flags {
				merged.flags[name] = append(merged.flags[name], vs...)
			}
		}
		out = append(out, APIServer{ID: merged.id, Desc: merged.desc, At: loc(merged.anchor), srv: merged})
	}
	return out
}

// K3sAPIServers reads the kube-apiserver flags of k3s and RKE2 server
// configurations (kube-apiserver-arg: "name=value" entries, a list or one
// string), one server per file, each flag at its entry's line. Like kind
// clusters, this package does not check them itself; diff/audit does.
func K3sAPIServers(objs []*manifest.Object) []APIServer {
	var out []APIServer
	for _, cf := range configs(objs) {
		if cf.obj.Kind != manifest.K3sConfigKind {
			continue
		}
		o := cf.obj
		a := apiserver{id: "k3s|" + cf.ident(), desc: "kube-apiserver of the k3s (or RKE2) configuration " + o.Origin.Path, holder: cf.holder,
			anchor: o.LineOf("kube-apiserver-arg"), flags: map[string][]flagVal{}}
		args := strs(o.Get("kube-apiserver-arg"))
		fields := func(i int) []any { return []any{"kube-apiserver-arg", i} }
		if one, ok := o.Get("kube-apiserver-arg").(string); ok {
			args, fields = []string{one}, func(int) []any { return []any{"kube-apiserver-arg"} }
		}
		for i, arg := range args {
			name, value, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
			if name == "" {
				continue
			}
			a.flags[name] = append(a.flags[name], flagVal{value: value, at: o.LineOf(fields(i)...), field: fmt.Sprintf("kube-apiserver-arg[%d]", i)})
		}
		out = append(out, APIServer{ID: a.id, Desc: a.desc, At: loc(a.anchor), srv: a})
	}
	return out
}
