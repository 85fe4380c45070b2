package query

import (
	"slices"

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
	Base     string          `json:"base,omitempty"`
	Head     string          `json:"head"`
	Overlays []WhoCanOverlay `json:"overlays"`
}

// WhoCanOverlay answers for one overlay.
type WhoCanOverlay struct {
	Path string `json:"path"`
	// Error says why the overlay has no answer (it did not render).
	Error string `json:"error,omitempty"`
	// Unread lists what the overlay could not read: the answer may miss
	// what it grants.
	Unread   []string `json:"unread,omitempty"`
	Subjects []Holder `json:"subjects"`
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
	return WhoCanOverlay{Path: ov.Path, Unread: ov.Unread, Subjects: holders(g.WhoCan(r.rbac()), newWorkloads(ov.Objects, o))}
}

// NewlyCan answers "who newly can": the subjects that can make r at head
// but could not at base, where a subject could when a member of it (with
// only the groups every member has) was allowed, or, for "everyone bound
// to ClusterRole X", when X allowed it. An overlay new at head has no
// base: everyone who can is new.
func NewlyCan(base *Overlay, head Overlay, r Request, o Options) WhoCanOverlay {
	ans := WhoCan(head, r, o)
	if ans.Error != "" || base == nil {
		return ans
	}
	if base.Err != nil {
		// Compared with nothing, everyone is new: over-report rather than hide.
		return ans
	}
	bg := o.graph(base.Objects)
	rr := r.rbac()
	ans.Subjects = slices.DeleteFunc(ans.Subjects, func(h Holder) bool {
		if h.Subject.Kind == "ClusterRole" {
			return bg.ClusterRoleAllows(h.Subject.Name, rr)
		}
		u, ok := rbac.Member(h.Subject)
		return ok && bg.Allows(u, rr)
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
