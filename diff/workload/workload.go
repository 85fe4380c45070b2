// Package workload finds the pod owners of a rendered overlay and tells
// which service account each runs as and whether its pods hold that
// account's token. It belongs to the model stage: package diff uses it to
// name, on each permission finding, the pods that gain the power;
// diff/token to judge token exposure; diff/escalation to find the accounts
// whose pods run in a namespace; diff/query to name who holds a token.
package workload

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// Workload is one object that runs pods, reduced to what token exposure
// needs.
type Workload struct {
	Kind, Namespace, Name string
	// ServiceAccount is spec.serviceAccountName, else the deprecated
	// spec.serviceAccount, else "default", as the API server defaults it.
	ServiceAccount string
	// Automount is the pod spec's automountServiceAccountToken; nil if unset.
	Automount *bool
	// PodSpec is the pod spec as decoded (never nil).
	PodSpec map[string]any
	// SpecPath is where PodSpec sits inside Object, for Object.LineOf.
	SpecPath []any
	Object   *manifest.Object
}

// String reads "Deployment payments/api".
func (w Workload) String() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

// LineOf returns the location of a field of the pod spec (path below the
// spec, e.g. "volumes", 0), or of the spec itself with no path.
func (w Workload) LineOf(path ...any) manifest.Location {
	full := append(slices.Clip(w.SpecPath), path...)
	return w.Object.LineOf(full...)
}

// specPaths maps a kind to where its pod spec lives. Groups are checked
// so that a custom resource that happens to be called "Deployment" is not
// read as one.
var specPaths = map[string]struct {
	groups []string
	path   []any
}{
	"Pod":                   {[]string{""}, []any{"spec"}},
	"ReplicationController": {[]string{""}, []any{"spec", "template", "spec"}},
	"Deployment":            {[]string{"apps", "extensions"}, []any{"spec", "template", "spec"}},
	"StatefulSet":           {[]string{"apps"}, []any{"spec", "template", "spec"}},
	"DaemonSet":             {[]string{"apps", "extensions"}, []any{"spec", "template", "spec"}},
	"ReplicaSet":            {[]string{"apps", "extensions"}, []any{"spec", "template", "spec"}},
	"Job":                   {[]string{"batch"}, []any{"spec", "template", "spec"}},
	"CronJob":               {[]string{"batch"}, []any{"spec", "jobTemplate", "spec", "template", "spec"}},
}

// Find returns the workloads among objs, sorted by namespace, kind and
// name. A workload without a namespace is in defaultNamespace.
func Find(objs []*manifest.Object, defaultNamespace string) []Workload {
	var out []Workload
	for _, o := range objs {
		sp, ok := specPaths[o.Kind]
		if !ok || !slices.Contains(sp.groups, o.Group()) {
			continue
		}
		spec, ok := at(o.Body, sp.path).(map[string]any)
		if !ok {
			continue
		}
		w := Workload{
			Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
			PodSpec: spec, SpecPath: sp.path, Object: o,
		}
		if w.Namespace == "" {
			w.Namespace = defaultNamespace
		}
		w.ServiceAccount, _ = spec["serviceAccountName"].(string)
		if w.ServiceAccount == "" {
			w.ServiceAccount, _ = spec["serviceAccount"].(string)
		}
		if w.ServiceAccount == "" {
			w.ServiceAccount = "default"
		}
		if b, ok := spec["automountServiceAccountToken"].(bool); ok {
			w.Automount = &b
		}
		out = append(out, w)
	}
	slices.SortStableFunc(out, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// ServiceAccountField is the pod spec field that names the account, for
// locations: serviceAccountName, else serviceAccount, else "".
func (w Workload) ServiceAccountField() string {
	for _, f := range []string{"serviceAccountName", "serviceAccount"} {
		if s, _ := w.PodSpec[f].(string); s != "" {
			return f
		}
	}
	return ""
}

func at(v any, path []any) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p.(string)]
	}
	return v
}

// ServiceAccounts indexes the ServiceAccount objects by namespace and name.
func ServiceAccounts(objs []*manifest.Object, defaultNamespace string) map[[2]string]*manifest.Object {
	m := map[[2]string]*manifest.Object{}
	for _, o := range objs {
		if o.Kind != "ServiceAccount" || o.Group() != "" {
			continue
		}
		ns := o.Namespace
		if ns == "" {
			ns = defaultNamespace
		}
		m[[2]string{ns, o.Name}] = o
	}
	return m
}

// Setter says which object decided whether the token is automounted.
type Setter int

const (
	ByDefault        Setter = iota // neither pod nor account says: true
	ByPod                          // the pod spec's automountServiceAccountToken
	ByServiceAccount               // the ServiceAccount's automountServiceAccountToken
)

// Automount applies the API server's precedence for the automounted token:
// the pod's automountServiceAccountToken, else the service account's, else
// true. It ignores projected volumes; see MountsToken.
func Automount(w Workload, serviceAccounts map[[2]string]*manifest.Object) (bool, Setter) {
	if w.Automount != nil {
		return *w.Automount, ByPod
	}
	if sa := serviceAccounts[[2]string{w.Namespace, w.ServiceAccount}]; sa != nil {
		if b, ok := sa.Body["automountServiceAccountToken"].(bool); ok {
			return b, ByServiceAccount
		}
	}
	return true, ByDefault
}

// MountsToken reports whether the workload's pods hold a token of their
// service account that the API server accepts: the automounted one (pod
// automountServiceAccountToken, else the ServiceAccount object's, else
// true), or one the pod spec asks for itself through a projected
// serviceAccountToken volume for the API server (see APIAudience), which
// the kubelet mounts whatever automountServiceAccountToken says. Projected
// tokens for other audiences do not count: the API server rejects them.
func MountsToken(w Workload, serviceAccounts map[[2]string]*manifest.Object) bool {
	if on, _ := Automount(w, serviceAccounts); on {
		return true
	}
	for _, p := range ProjectedTokens(w) {
		if APIAudience(p.Audience) {
			return true
		}
	}
	return false
}

// APIAudience reports whether a projected token for this audience works
// against the API server: the empty audience means the API server's own,
// and a kubernetes.default.svc URL is its usual name. (A cluster whose
// --api-audiences lists other names accepts those too; this cannot know.)
func APIAudience(aud string) bool {
	if aud == "" {
		return true
	}
	host := strings.TrimPrefix(strings.TrimPrefix(aud, "https://"), "http://")
	return host == "kubernetes.default.svc" || strings.HasPrefix(host, "kubernetes.default.svc.") ||
		host == "kubernetes.default" || host == "kubernetes"
}

// DefaultExpirationSeconds is the lifetime of a projected token that does
// not set expirationSeconds.
const DefaultExpirationSeconds = 3600

// Projected is one serviceAccountToken source of a projected volume.
type Projected struct {
	Volume string // volume name
	Path   string // file name inside the volume
	// Audience is the intended audience; "" means the API server's own,
	// so the token authenticates against the API server.
	Audience string
	// ExpirationSeconds is the requested lifetime, DefaultExpirationSeconds
	// when unset; ExpirationSet says whether it was written.
	ExpirationSeconds int64
	ExpirationSet     bool
	// Field is the path of the serviceAccountToken map below the pod spec
	// ("volumes", 2, "projected", "sources", 0, "serviceAccountToken").
	Field []any
}

// ProjectedTokens lists the serviceAccountToken sources of the workload's
// projected volumes in spec order. Malformed entries are skipped.
func ProjectedTokens(w Workload) []Projected {
	var out []Projected
	vols, _ := w.PodSpec["volumes"].([]any)
	for i, v := range vols {
		vm, _ := v.(map[string]any)
		proj, _ := vm["projected"].(map[string]any)
		srcs, _ := proj["sources"].([]any)
		name, _ := vm["name"].(string)
		for j, s := range srcs {
			sm, _ := s.(map[string]any)
			sat, ok := sm["serviceAccountToken"].(map[string]any)
			if !ok {
				continue
			}
			p := Projected{Volume: name, ExpirationSeconds: DefaultExpirationSeconds,
				Field: []any{"volumes", i, "projected", "sources", j, "serviceAccountToken"}}
			p.Path, _ = sat["path"].(string)
			p.Audience, _ = sat["audience"].(string)
			switch e := sat["expirationSeconds"].(type) {
			case int64:
				p.ExpirationSeconds, p.ExpirationSet = e, true
			case float64:
				p.ExpirationSeconds, p.ExpirationSet = int64(e), true
			case int:
				p.ExpirationSeconds, p.ExpirationSet = int64(e), true
			}
			out = append(out, p)
		}
	}
	return out
}
