package audit

import (
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/rbac"
)

// Probes stand for every user, namespace and object a policy can tell
// apart: those its rules name, and one of each that no rule names.
const (
	otherNamespace = "\x00another namespace"
	otherName      = "\x00another name"
)

type probe struct {
	who  string // "user alice", "group ops", "any other user"
	user rbac.User
}

type probeSet struct {
	probes            []probe // the first is "any other user"
	namespaces, names []string
}

func newProbeSet(ps ...*Policy) probeSet {
	var s probeSet
	add := func(who string, u rbac.User) {
		if !slices.ContainsFunc(s.probes, func(p probe) bool { return p.who == who }) {
			s.probes = append(s.probes, probe{who, u})
		}
	}
	add("any other user", rbac.User{Name: "\x00user", Groups: []string{"system:authenticated"}})
	add("any other service account", rbac.User{Name: "system:serviceaccount:\x00ns:\x00sa", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:\x00ns", "system:authenticated"}})
	add("anonymous requests", rbac.User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}})
	for _, p := range ps {
		for _, ru := range p.Rules {
			for _, u := range ru.Users {
				groups := []string{"system:authenticated"}
				if rest, ok := strings.CutPrefix(u, "system:serviceaccount:"); ok {
					ns, _, _ := strings.Cut(rest, ":")
					groups = append(groups, "system:serviceaccounts", "system:serviceaccounts:"+ns)
				}
				add("user "+u, rbac.User{Name: u, Groups: groups})
			}
			for _, g := range ru.UserGroups {
				add("group "+g, rbac.User{Name: "\x00member", Groups: []string{g, "system:authenticated"}})
			}
			for _, ns := range ru.Namespaces {
				if !slices.Contains(s.namespaces, ns) && ns != "" {
					s.namespaces = append(s.namespaces, ns)
				}
			}
			for _, gr := range ru.Resources {
				for _, n := range gr.ResourceNames {
					if !slices.Contains(s.names, n) {
						s.names = append(s.names, n)
					}
				}
			}
		}
	}
	s.namespaces = append(s.namespaces, otherNamespace)
	s.names = append(s.names, otherName)
	return s
}

// each calls fn with every probe and every variant of w (each namespace
// for a namespaced request, each name for a named one) until it returns
// false.
func (s probeSet) each(w Watched, fn func(probe, rbac.Request) bool) {
	for _, p := range s.probes {
		for _, r := range s.variants(w) {
			if !fn(p, r) {
				return
			}
		}
	}
}

func (s probeSet) variants(w Watched) []rbac.Request {
	nss, names := []string{""}, []string{""}
	if w.Namespace != "" {
		nss = s.namespaces
	}
	if w.Named {
		names = s.names
	}
	var out []rbac.Request
	for _, verb := range w.Verbs {
		for _, ns := range nss {
			for _, n := range names {
				r := w.Request
				r.Verb, r.Namespace, r.Name = verb, ns, n
				out = append(out, r)
			}
		}
	}
	return out
}

// first is a variant of w that no rule singles out.
func (s probeSet) first(w Watched) rbac.Request {
	v := s.variants(w)
	return v[len(v)-1]
}
