package rbac

import (
	"cmp"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/report"
)

// This file answers questions about one graph (who can make a request,
// may this user make it, what may this user do), for the query commands.
// Every answer walks the bindings the way Allows does, so it agrees with
// the authorizer by construction; the conformance module proves it does.

// Allowance is one way a binding subject may make a request: the subject as
// the binding names it (normalised like everywhere in the engine), the
// scope of the binding ("" for a ClusterRoleBinding, else the
// RoleBinding's namespace) and the chain from the binding's subject entry
// to the rule that allows the request.
type Allowance struct {
	Subject report.Subject
	Scope   string
	Via     []report.Ref
	// Builtin is set for bindings of Kubernetes' own bootstrap policy.
	Builtin bool
}

// WhoCan lists every binding subject the authorizer lets make r, one
// Allowance per binding subject entry and allowing rule (the first rule of
// the role that allows it), sorted by subject, scope and binding. A group
// subject stands for all its members; a ServiceAccount subject of a
// RoleBinding without a namespace is the account of the binding's
// namespace. ClusterRoles of the repository that no binding of the tree
// uses, and built-in ClusterRoles that allow r through a rule the
// repository aggregated into them, are listed as the subject
// {Kind: ClusterRole, Name: role}, read "everyone bound to this role":
// their bindings live outside the repository.
func (g *Graph) WhoCan(r Request) []Allowance {
	var out []Allowance
	g.visitAllowing(r, func(b *binding, ro *role, ru rule) {
		for i, s := range b.subjects {
			subj, ok := subjectOf(s, b)
			if !ok {
				continue
			}
			gr := grant{rule: ru, binding: b, subjectIdx: i}
			out = append(out, Allowance{Subject: *subj.report(), Scope: b.namespace, Via: gr.chain(), Builtin: b.builtin})
		}
	})
	for _, ro := range g.rolesBoundElsewhere() {
		for _, ru := range ro.rules {
			if RuleAllows(ru.PolicyRule, r) && (!ro.builtin || ru.obj != nil) {
				out = append(out, Allowance{Subject: report.Subject{Kind: "ClusterRole", Name: ro.key.name}, Via: ru.via})
				break
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Allowance) int {
		return cmp.Or(compareSubjects(a.Subject, b.Subject), strings.Compare(a.Scope, b.Scope))
	})
	return out
}

// Explain reports whether u may make r and, when it may, the chain of the
// first binding and rule that allow it, in the authorizer's order: every
// ClusterRoleBinding, then the RoleBindings of the request's namespace.
func (g *Graph) Explain(u User, r Request) ([]report.Ref, bool) {
	for _, bs := range g.bindingsFor(r.Namespace) {
		var via []report.Ref
		g.userGrants(u, bs, func(gr grant) bool {
			if RuleAllows(gr.rule.PolicyRule, r) {
				via = gr.chain()
			}
			return via == nil
		})
		if via != nil {
			return via, true
		}
	}
	return nil, false
}

// userGrants calls fn with each rule of bs's bindings that name u, in
// order, with its binding and subject entry, until fn returns false.
func (g *Graph) userGrants(u User, bs []*binding, fn func(grant) bool) {
	for _, b := range bs {
		i := slices.IndexFunc(b.subjects, func(s rbacv1.Subject) bool { return appliesToUser(u, s, b.namespace) })
		if i < 0 {
			continue
		}
		ro := g.resolve(b)
		if ro == nil {
			continue
		}
		for _, ru := range ro.rules {
			if !fn(grant{rule: ru, binding: b, subjectIdx: i}) {
				return
			}
		}
	}
}

// RuleGrant is one rule that applies to a user, with its scope and chain.
type RuleGrant struct {
	Rule  rbacv1.PolicyRule
	Scope string // "" cluster-wide, else a namespace
	Via   []report.Ref
}

// RulesFor lists the rules that apply to u, as the authorizer's
// RulesFor does for SelfSubjectRulesReview: those of every
// ClusterRoleBinding naming u (Scope ""), then, for each namespace in
// namespaces (every namespace with a RoleBinding naming u when nil), those
// of its RoleBindings naming u. Rules of a role bound twice are listed
// twice, each with its own chain.
func (g *Graph) RulesFor(u User, namespaces []string) []RuleGrant {
	if namespaces == nil {
		for ns := range g.byNamespace {
			if ns != "" {
				namespaces = append(namespaces, ns)
			}
		}
		slices.Sort(namespaces)
	}
	var out []RuleGrant
	collect := func(bs []*binding) {
		g.userGrants(u, bs, func(gr grant) bool {
			out = append(out, RuleGrant{Rule: gr.rule.PolicyRule, Scope: gr.binding.namespace, Via: gr.chain()})
			return true
		})
	}
	collect(g.byNamespace[""])
	for _, ns := range namespaces {
		if ns != "" {
			collect(g.byNamespace[ns])
		}
	}
	return out
}

// Member is the identity of a member of s as the authenticator gives it,
// with no group beyond those every member certainly has: a service
// account's user and its three groups, a user with system:authenticated
// (system:unauthenticated for system:anonymous), an anonymous member of a
// group with the group and the groups every member of it is in. The
// kind ClusterRole has no members the graph knows: ok is false.
func Member(s report.Subject) (User, bool) {
	subj := subject{kind: s.Kind, namespace: s.Namespace, name: s.Name}
	var groups []string
	for _, sg := range supergroups(subj) {
		groups = append(groups, sg.name)
	}
	switch s.Kind {
	case "ServiceAccount":
		return User{Name: saUserPrefix + s.Namespace + ":" + s.Name, Groups: groups}, true
	case "User":
		return User{Name: s.Name, Groups: groups}, true
	case "Group":
		// The name cannot be a real user's: only the groups decide.
		return User{Name: "\x00member of " + s.Name, Groups: append([]string{s.Name}, groups...)}, true
	}
	return User{}, false
}

// ClusterRoleAllows reports whether the ClusterRole name, as the graph
// has it (built in, aggregated, or the repository's), allows r.
func (g *Graph) ClusterRoleAllows(name string, r Request) bool {
	ro := g.roles[roleKey{"ClusterRole", "", name}]
	if ro == nil {
		return false
	}
	return slices.ContainsFunc(ro.rules, func(ru rule) bool { return RuleAllows(ru.PolicyRule, r) })
}

// visitAllowing calls fn with every binding that the authorizer consults
// for r and whose role has a rule allowing r, with the first such rule.
func (g *Graph) visitAllowing(r Request, fn func(*binding, *role, rule)) {
	for _, bs := range g.bindingsFor(r.Namespace) {
		for _, b := range bs {
			ro := g.resolve(b)
			if ro == nil {
				continue
			}
			for _, ru := range ro.rules {
				if RuleAllows(ru.PolicyRule, r) {
					fn(b, ro, ru)
					break
				}
			}
		}
	}
}

// bindingsFor returns the bindings the authorizer consults for a request
// in namespace ns: the ClusterRoleBindings, then ns's RoleBindings.
func (g *Graph) bindingsFor(ns string) [][]*binding {
	out := [][]*binding{g.byNamespace[""]}
	if ns != "" {
		out = append(out, g.byNamespace[ns])
	}
	return out
}

// rolesBoundElsewhere returns the ClusterRoles whose bindings may live
// outside the repository, in name order: the repository's own that no
// binding of the tree uses, and every built-in one (which the caller
// narrows to rules the repository added).
func (g *Graph) rolesBoundElsewhere() []*role {
	var out []*role
	for k, ro := range g.roles {
		if k.kind != "ClusterRole" || ro.external {
			continue
		}
		if ro.builtin || ro.obj != nil && !g.boundClusterRoles[k.name] {
			out = append(out, ro)
		}
	}
	slices.SortFunc(out, func(a, b *role) int { return strings.Compare(a.key.name, b.key.name) })
	return out
}

func compareSubjects(a, b report.Subject) int {
	return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
}
