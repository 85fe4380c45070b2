package query

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// WhoCanAnswer is who-can's answer: per overlay, every subject that can
// make the request.
type WhoCanAnswer struct {
	Version int     `json:"version"`
	Request Request `json:"request"`
	// Base is set for "who newly can": the revision the head was compared
	// with; the subjects listed are those that could not at Base.
	Base string `json:"base,omitempty"`
	Head string `json:"head"`
	// BaseName and HeadName are the revisions as typed (a tag, a branch,
	// a directory) when Base and Head are commits.
	BaseName string          `json:"baseName,omitempty"`
	HeadName string          `json:"headName,omitempty"`
	Overlays []WhoCanOverlay `json:"overlays"`
	// Unchanged counts, for "who newly can", the overlays the change left
	// alone: not asked, nobody in them is new.
	Unchanged int `json:"unchanged,omitempty"`
}

// WhoCanOverlay answers for one overlay.
type WhoCanOverlay struct {
	Path string `json:"path"`
	// Error says why the overlay has no answer (it did not render).
	Error string `json:"error,omitempty"`
	// Unread lists what the overlay could not read: the answer may miss
	// what it grants.
	Unread []string `json:"unread,omitempty"`
	// Skipped lists the inputs the overlay was rendered without (as a
	// diff report's overlay lists them): subjects they grant to are
	// missing.
	Skipped []report.SkippedInput `json:"skipped,omitempty"`
	// NamespaceUnset is set when the namespace asked about holds none of
	// the overlay's objects and some name no namespace.
	NamespaceUnset *Landed  `json:"namespaceUnset,omitempty"`
	Subjects       []Holder `json:"subjects"`
}

// Holder is one subject that can, and every way it can.
type Holder struct {
	Subject report.Subject `json:"subject"`
	Ways    []Way          `json:"ways"`
	// Workloads are those whose pods hold a token of the subject.
	Workloads []report.Workload `json:"workloads,omitempty"`
	// Builtin: every way is a binding of Kubernetes' own bootstrap policy.
	Builtin bool `json:"builtin,omitempty"`
}

// Way is one binding through which a subject can: its scope and the chain
// from the binding's subject entry to the rule.
type Way struct {
	Scope report.Scope `json:"scope"`
	Via   []report.Ref `json:"via"`
}

// WhoCan lists, for one overlay, every subject the authorizer lets make r:
// service accounts, users, groups (standing for all their members) and
// "everyone bound to ClusterRole X" for repository roles bound outside the
// repository, each with its ways and the workloads holding its token.
func WhoCan(ov Overlay, r Request, o Options) WhoCanOverlay {
	if ov.Err != nil {
		return WhoCanOverlay{Path: ov.Path, Error: ov.Err.Error(), Subjects: []Holder{}}
	}
	g := o.graph(ov.Objects)
	subjects := holders(allowances(g, r), newWorkloads(ov.Objects, o))
	for i := range subjects {
		for j := range subjects[i].Ways {
			subjects[i].Ways[j].Via = ov.place(subjects[i].Ways[j].Via)
		}
	}
	return WhoCanOverlay{Path: ov.Path, Unread: ov.Unread, Skipped: ov.Skipped, NamespaceUnset: landed(ov.Objects, r.Namespace, o),
		Subjects: subjects}
}

// allowances are the engine's answer to r; in every namespace (-A), the
// cluster-wide bindings' and, for each namespace with RoleBindings, what
// those add there.
func allowances(g *rbac.Graph, r Request) []rbac.Allowance {
	rr := r.rbac()
	out := g.WhoCan(rr)
	if !r.AllNamespaces {
		return out
	}
	for _, ns := range g.Namespaces() {
		rr.Namespace = ns
		for _, a := range g.WhoCan(rr) {
			if a.Scope == ns {
				out = append(out, a)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b rbac.Allowance) int {
		return cmp.Or(strings.Compare(a.Subject.Kind, b.Subject.Kind), strings.Compare(a.Subject.Namespace, b.Subject.Namespace),
			strings.Compare(a.Subject.Name, b.Subject.Name), strings.Compare(a.Scope, b.Scope))
	})
	return out
}

// NewlyCan answers "who newly can": the subjects that can make r at head
// but could not at base, where a subject could when a member of it (with
// only the groups every member has) was allowed, or, for "everyone bound
// to ClusterRole X", when X allowed it. An overlay new at head has no
// base: everyone who can is new, but for Kubernetes' own bootstrap
// bindings, which every cluster has.
func NewlyCan(base *Overlay, head Overlay, r Request, o Options) WhoCanOverlay {
	ans := WhoCan(head, r, o)
	ans.Subjects = slices.DeleteFunc(ans.Subjects, func(h Holder) bool { return h.Builtin })
	if ans.Error != "" || base == nil {
		return ans
	}
	if base.Err != nil {
		// Compared with nothing, everyone is new: over-report rather than hide.
		return ans
	}
	bg := o.graph(base.Objects)
	ans.Subjects = slices.DeleteFunc(ans.Subjects, func(h Holder) bool {
		// -A: the subject could somewhere at base where it can at head.
		for _, wy := range h.Ways {
			rr := r.rbac()
			if r.AllNamespaces {
				rr.Namespace = wy.Scope.Namespace
			}
			if h.Subject.Kind == "ClusterRole" {
				if !bg.ClusterRoleAllows(h.Subject.Name, rr) {
					return false
				}
				continue
			}
			if u, ok := rbac.Member(h.Subject); !ok || !bg.Allows(u, rr) {
				return false
			}
		}
		return true
	})
	return ans
}

func holders(hs []rbac.Allowance, ws workloads) []Holder {
	out := []Holder{}
	for _, h := range hs {
		if n := len(out); n > 0 && out[n-1].Subject == h.Subject {
			out[n-1].Ways = append(out[n-1].Ways, way(h))
			out[n-1].Builtin = out[n-1].Builtin && h.Builtin
			continue
		}
		out = append(out, Holder{Subject: h.Subject, Ways: []Way{way(h)}, Workloads: ws.of(h.Subject), Builtin: h.Builtin})
	}
	return out
}

func way(h rbac.Allowance) Way {
	sc := report.Scope{Cluster: true}
	if h.Scope != "" {
		sc = report.Scope{Namespace: h.Scope}
	}
	return Way{Scope: sc, Via: h.Via}
}
