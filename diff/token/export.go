package token

import (
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
