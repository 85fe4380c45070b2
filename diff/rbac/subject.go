package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/report"
)

// Well-known groups the authenticator adds on its own.
const (
	groupAuthenticated   = "system:authenticated"
	groupUnauthenticated = "system:unauthenticated"
	groupServiceAccounts = "system:serviceaccounts"
	groupMasters         = "system:masters"
	userAnonymous        = "system:anonymous"
	saUserPrefix         = "system:serviceaccount:"
)

// subject identifies who a binding names, normalised so that a User named
// "system:serviceaccount:ns:name" and the ServiceAccount ns/name are one.
type subject struct {
	kind      string // ServiceAccount, User, Group
	namespace string
	name      string
}

func (s subject) report() *report.Subject {
	return &report.Subject{Kind: s.kind, Namespace: s.namespace, Name: s.name}
}

func (s subject) String() string { return s.report().String() }

// subjectOf normalises a binding's subject. ok is false for subjects that
// match nobody (a namespace-less ServiceAccount in a ClusterRoleBinding, an
// unknown kind).
func subjectOf(s rbacv1.Subject, b *binding) (subject, bool) {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = b.namespace
		}
		if ns == "" {
			return subject{}, false
		}
		return subject{kind: "ServiceAccount", namespace: ns, name: s.Name}, true
	case rbacv1.UserKind:
		if rest, ok := strings.CutPrefix(s.Name, saUserPrefix); ok {
			if ns, name, ok := strings.Cut(rest, ":"); ok && ns != "" && name != "" && !strings.Contains(name, ":") {
				return subject{kind: "ServiceAccount", namespace: ns, name: name}, true
			}
		}
		return subject{kind: "User", name: s.Name}, true
	case rbacv1.GroupKind:
		return subject{kind: "Group", name: s.Name}, true
	}
	return subject{}, false
}

// supergroups lists the groups every member of s certainly belongs to, so
// a grant to them already reaches s. A service account is in
// system:serviceaccounts:<ns>, system:serviceaccounts and
// system:authenticated; every authenticated user and group is in
// system:authenticated; the anonymous user is in system:unauthenticated.
func supergroups(s subject) []subject {
	g := func(name string) subject { return subject{kind: "Group", name: name} }
	switch s.kind {
	case "ServiceAccount":
		return []subject{g(groupServiceAccounts + ":" + s.namespace), g(groupServiceAccounts), g(groupAuthenticated)}
	case "User":
		if s.name == userAnonymous {
			return []subject{g(groupUnauthenticated)}
		}
		return []subject{g(groupAuthenticated)}
	case "Group":
		switch {
		case s.name == groupAuthenticated || s.name == groupUnauthenticated:
			return nil
		case s.name == groupServiceAccounts:
			return []subject{g(groupAuthenticated)}
		case strings.HasPrefix(s.name, groupServiceAccounts+":"):
			return []subject{g(groupServiceAccounts), g(groupAuthenticated)}
		}
		return []subject{g(groupAuthenticated)}
	}
	return nil
}

// everyone reports groups whose grants reach every caller or every
// workload: the blast radius is the whole cluster.
func everyone(s subject) bool {
	return s.kind == "Group" && (s.name == groupAuthenticated || s.name == groupUnauthenticated || s.name == groupServiceAccounts) ||
		s.kind == "User" && s.name == userAnonymous
}
