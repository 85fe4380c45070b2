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
	// capped is set when the policies name more users and groups,
	// namespaces or names than are probed (maxProbes…): a policy of a
	// pull request must not make the check run for hours.
	capped bool
}

// What is probed at most, besides the generic probes.
const (
	maxProbes      = 16
	maxNamespaces  = 8
	maxProbedNames = 8
	// maxRules bounds the rules of a policy that is evaluated at all
	// (the API server's own examples have a few dozen).
	maxRules = 1000
)

func newProbeSet(ps ...*Policy) probeSet {
	var s probeSet
	add := func(who string, u rbac.User) {
		if !slices.ContainsFunc(s.probes, func(p probe) bool { return p.who == who }) {
			if len(s.probes) >= maxProbes+3 {
				s.capped = true
				return
			}
			s.probes = append(s.probes, probe{who, u})
		}
	}
	add("any other user", rbac.User{Name: "\x00user", Groups: []string{"system:authenticated"}})
	add("any other service account", rbac.User{Name: "system:serviceaccount:\x00ns:\x00sa", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:\x00ns", "system:authenticated"}})
	add("anonymous requests", rbac.User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}})
	for _, p := range ps {
		if len(p.Rules) > maxRules {
			s.capped = true
		}
		for _, ru := range p.Rules[:min(len(p.Rules), maxRules)] {
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
				s.namespaces = s.addCapped(s.namespaces, ns, maxNamespaces)
			}
			for _, gr := range ru.Resources {
				for _, n := range gr.ResourceNames {
					s.names = s.addCapped(s.names, n, maxProbedNames)
				}
			}
		}
	}
	s.namespaces = append(s.namespaces, otherNamespace)
	s.names = append(s.names, otherName)
	return s
}

func (s *probeSet) addCapped(list []string, v string, max int) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	if len(list) >= max {
		s.capped = true
		return list
	}
	return append(list, v)
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
