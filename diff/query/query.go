package query

import (
	"cmp"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/workload"
)

// Version is the schema version of the JSON answers, versioned like the
// report: fields may be added, none removed or changed in meaning.
const Version = 1

// Overlay is one rendered overlay of a tree.
type Overlay struct {
	Path    string
	Objects []*manifest.Object
	// Err is set when the overlay did not render: there is no answer for
	// it, and the answer says so rather than answering "nobody".
	Err error
	// Unread names what the overlay could not read (a document that does
	// not decode, a file left out of the tree): what it grants is missing
	// from the answer, which says so.
	Unread []string
	// Skipped are the inputs rendering cut out (remote bases, Helm charts,
	// plugins): what they grant is not in the answer, which says so.
	Skipped []report.SkippedInput
	// Place, when set, names the files of a chain as a reader finds them:
	// what a chart rendered as the chart's template, what a remote base
	// holds as that repository's file. It returns a new slice.
	Place func([]report.Ref) []report.Ref
}

// place is via as the overlay's reader finds it (Overlay.Place).
func (ov Overlay) place(via []report.Ref) []report.Ref {
	if ov.Place == nil || len(via) == 0 {
		return via
	}
	return ov.Place(via)
}

// Options tune how objects are read, as for a diff.
type Options struct {
	// DefaultNamespace is where objects without a namespace land.
	DefaultNamespace string
	// ExternalRoles resolve roleRefs that live outside the repository.
	ExternalRoles []*manifest.Object
}

func (o Options) ns() string { return cmp.Or(o.DefaultNamespace, "default") }

// graph builds the RBAC graph of objs, leaving Kubernetes' own bootstrap
// objects (present in a cluster's export) to the built-ins.
func (o Options) graph(objs []*manifest.Object) *rbac.Graph {
	return rbac.Build(rbac.WithoutBootstrap(objs), rbac.Options{DefaultNamespace: o.ns(), ExternalRoles: o.ExternalRoles})
}

// workloads names the workloads of objs whose pods hold a token that
// reaches subject s: run as the service account, or as any member of a
// group every such account is in.
type workloads struct {
	ws  []workload.Workload
	sas map[[2]string]*manifest.Object
}

func newWorkloads(objs []*manifest.Object, o Options) workloads {
	return workloads{ws: workload.Find(objs, o.ns()), sas: workload.ServiceAccounts(objs, o.ns())}
}

func (w workloads) of(s report.Subject) []report.Workload {
	var out []report.Workload
	for _, x := range w.ws {
		if x.RunsAs(s.Kind, s.Namespace, s.Name) && workload.MountsToken(x, w.sas) {
			out = append(out, report.Workload{Kind: x.Kind, Namespace: x.Namespace, Name: x.Name})
		}
	}
	return out
}

// Landed says where an overlay's objects that name no namespace went
// when the namespace asked about holds none of the overlay's objects:
// the overlay is likely deployed with a namespace given at apply time
// (kubectl apply -n, an Argo CD Application), which --default-namespace
// stands for.
type Landed struct {
	// Objects is how many namespaced objects name no namespace.
	Objects int `json:"objects"`
	// Namespace is where they landed: the default namespace.
	Namespace string `json:"namespace"`
}

// landed returns the Landed note of objs for a request in namespace ns,
// or nil: a request of no namespace, some object already in ns, or
// every namespaced object naming its own.
func landed(objs []*manifest.Object, ns string, o Options) *Landed {
	if ns == "" || ns == o.ns() {
		return nil
	}
	rs := BuiltinResources()
	n := 0
	for _, obj := range objs {
		if obj.Namespace == ns {
			return nil
		}
		if r, ok := rs.find(obj.Kind, obj.Group(), false); ok && r.Namespaced && obj.Namespace == "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return &Landed{Objects: n, Namespace: o.ns()}
}
