package escalation

import (
	"fmt"
	"slices"

	"github.com/rbacguard/rbacguard/diff/rbac"
)

// podMakers are the requests that run a pod of the caller's choosing in a
// namespace (the package doc says why each counts), in the order a path
// names the first that applies.
var podMakers = []struct{ group, resource string }{
	{"", "pods"},
	{"apps", "deployments"}, {"apps", "replicasets"}, {"apps", "statefulsets"}, {"apps", "daemonsets"},
	{"batch", "jobs"}, {"batch", "cronjobs"},
	{"", "replicationcontrollers"},
	{"extensions", "deployments"}, {"extensions", "replicasets"}, {"extensions", "daemonsets"},
}

var podMakerVerbs = []string{"create", "update", "patch"}

// podEntries are the requests that run a process inside an existing pod,
// which then reads the token mounted there.
var podEntries = []struct{ verb, sub string }{
	{"create", "exec"}, {"create", "attach"},
	{"get", "exec"}, {"get", "attach"}, // a WebSocket upgrade before Kubernetes 1.35
	{"update", "ephemeralcontainers"}, {"patch", "ephemeralcontainers"},
}

// admissionWrites are the verbs that rewrite an admission object: create
// (unnamed) and update or patch (of any name, or of one a rule names).
var admissionWrites = []string{"create", "update", "patch"}

const (
	rbacGroup      = "rbac.authorization.k8s.io"
	admissionGroup = "admissionregistration.k8s.io"
	csrGroup       = "certificates.k8s.io"
	// clientSigner signs client certificates for any name and group the
	// request asks, system:masters included, once a request is approved.
	clientSigner = "kubernetes.io/kube-apiserver-client"
)

// probes are every request expand asks, without name or namespace.
func probes() []rbac.Request {
	var out []rbac.Request
	for _, pm := range podMakers {
		for _, v := range podMakerVerbs {
			out = append(out, req(v, pm.group, pm.resource, "", "", ""))
		}
	}
	for _, pe := range podEntries {
		out = append(out, req(pe.verb, "", "pods", pe.sub, "", ""))
	}
	out = append(out,
		req("get", "", "nodes", "proxy", "", ""), req("create", "", "nodes", "proxy", "", ""),
		req("create", "", "serviceaccounts", "token", "", ""),
		req("impersonate", "", "serviceaccounts", "", "", ""), req("impersonate", "", "users", "", "", ""),
		req("impersonate", "", "groups", "", "", ""),
		req("get", "", "secrets", "", "", ""), req("list", "", "secrets", "", "", ""), req("watch", "", "secrets", "", "", ""),
		req("bind", rbacGroup, "clusterroles", "", "", ""), req("escalate", rbacGroup, "clusterroles", "", "", ""),
		req("escalate", rbacGroup, "roles", "", "", ""),
		req("update", csrGroup, "certificatesigningrequests", "approval", "", ""),
		req("patch", csrGroup, "certificatesigningrequests", "approval", "", ""),
		req("create", "", "secrets", "", "", ""))
	for _, res := range []string{"mutatingwebhookconfigurations", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"} {
		for _, v := range admissionWrites {
			out = append(out, req(v, admissionGroup, res, "", "", ""))
		}
	}
	return out
}

func req(verb, group, resource, sub, ns, name string) rbac.Request {
	return rbac.Request{ResourceRequest: true, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func label(r rbac.Request) string {
	s := r.Verb + " "
	if r.APIGroup != "" && r.APIGroup != "apps" && r.APIGroup != "batch" && r.APIGroup != rbacGroup {
		s += r.APIGroup + "/"
	}
	s += r.Resource
	if r.Subresource != "" {
		s += "/" + r.Subresource
	}
	if r.Name != "" {
		s += " " + r.Name
	}
	if r.Namespace != "" {
		s += " in " + r.Namespace
	}
	return s
}

// inNamespaces returns those of want (sorted) where c allows r with any
// name. A ClusterRoleBinding grant allows it in every namespace at once:
// rules never name a namespace, so asking without one asks exactly those.
func inNamespaces(c decider, r rbac.Request, want []string) []string {
	return namespacesWhere(c, c.Allows, r, want)
}

// mayNamespaces returns those of want where some grant of c allows r for
// some name: the namespaces worth asking name by name.
func mayNamespaces(c decider, r rbac.Request, want []string) []string {
	return namespacesWhere(c, c.MayAllowNamed, r, want)
}

// namespacesWhere asks ok of r cluster-wide first (then every namespace of
// want answers yes), else in each namespace of want that c has grants in.
func namespacesWhere(c decider, ok func(rbac.Request) bool, r rbac.Request, want []string) []string {
	r.Namespace = ""
	if ok(r) {
		return want
	}
	var out []string
	for _, ns := range c.Namespaces() {
		if _, found := slices.BinarySearch(want, ns); found {
			r.Namespace = ns
			if ok(r) {
				out = append(out, ns)
			}
		}
	}
	return out
}

// firstAllowed returns the first of rs that c allows.
func firstAllowed(c decider, rs ...rbac.Request) (rbac.Request, bool) {
	for _, r := range rs {
		if c.Allows(r) {
			return r, true
		}
	}
	return rbac.Request{}, false
}

// expand computes the primitives that lead out of node i, once. Nodes that
// already hold everything are not expanded: nothing lies beyond them.
func (m *Model) expand(i int) []edge {
	n := m.nodes[i]
	if n.expanded || m.quiet(i) || m.isAdmin(i) {
		return n.edges
	}
	n.expanded = true
	c := m.decider(i)
	var es []edge
	add := func(prim string, to []int, reqs ...rbac.Request) {
		if len(to) > 0 {
			es = append(es, edge{prim: prim, reqs: reqs, to: to})
		}
	}

	// Run a pod as any account of the namespace.
	done := map[string]bool{}
	for _, pm := range podMakers {
		for _, v := range podMakerVerbs {
			r := req(v, pm.group, pm.resource, "", "", "")
			for _, ns := range inNamespaces(c, r, m.namespaces) {
				if !done[ns] {
					done[ns] = true
					r.Namespace = ns
					add(label(r), m.accounts[ns], r)
				}
			}
		}
	}

	// Enter a running pod and read its token.
	for _, pe := range podEntries {
		tmpl := req(pe.verb, "", "pods", pe.sub, "", "")
		for _, ns := range mayNamespaces(c, tmpl, m.runningNS) {
			for _, pa := range m.running[ns] {
				r := tmpl
				r.Namespace, r.Name = ns, pa.pod
				if c.Allows(r) {
					add(label(r), []int{pa.account}, r)
				}
			}
		}
	}
	if r, ok := firstAllowed(c, req("get", "", "nodes", "proxy", "", ""), req("create", "", "nodes", "proxy", "", "")); ok {
		add(label(r), m.allRunning, r)
	}

	// Mint a token, or act as the account.
	m.perAccount(c, req("create", "", "serviceaccounts", "token", "", ""), add)
	m.perAccount(c, req("impersonate", "", "serviceaccounts", "", "", ""), add)

	// Mint a token Secret and read it back: the token controller fills in
	// any Secret of type kubernetes.io/service-account-token, whoever
	// made it (before the legacy-token reads, which rest on an assumption).
	for _, ns := range inNamespaces(c, req("create", "", "secrets", "", "", ""), m.namespaces) {
		read, ok := firstAllowed(c, req("get", "", "secrets", "", ns, ""), req("list", "", "secrets", "", ns, ""), req("watch", "", "secrets", "", ns, ""))
		if ok {
			add(fmt.Sprintf("create and %s secrets in %s (a token Secret it makes)", read.Verb, ns), m.accounts[ns], req("create", "", "secrets", "", ns, ""), read)
		}
	}

	// Read a legacy token Secret.
	for _, v := range []string{"get", "list", "watch"} {
		for _, ns := range mayNamespaces(c, req(v, "", "secrets", "", "", ""), m.tokenNS) {
			for _, ts := range m.tokenSecrets[ns] {
				r := req(v, "", "secrets", "", ns, ts.name)
				if v != "get" {
					r.Name = "" // list and watch carry no name
				}
				if c.Allows(r) {
					add(label(r), []int{ts.account}, r)
				}
			}
		}
	}
	if m.o.LegacyTokens == LegacyTokensCluster {
		done := map[string]bool{}
		for _, v := range []string{"list", "watch"} {
			r := req(v, "", "secrets", "", "", "")
			for _, ns := range inNamespaces(c, r, m.namespaces) {
				if !done[ns] {
					done[ns] = true
					r.Namespace = ns
					add(label(r)+" ("+assumesLegacyTokens+")", m.accounts[ns], r)
				}
			}
		}
	}

	// Impersonate users and groups.
	m.perName(c, req("impersonate", "", "users", "", "", ""), m.users, add)
	if someone, ok := m.someoneToImpersonate(c); ok {
		m.perName(c, req("impersonate", "", "groups", "", "", ""), m.groups, add, someone)
	}

	// Bind or write any role.
	if r, ok := firstAllowed(c, req("bind", rbacGroup, "clusterroles", "", "", anyRole)); ok {
		if w, ok := firstAllowed(c, req("create", rbacGroup, "clusterrolebindings", "", "", ""),
			req("update", rbacGroup, "clusterrolebindings", "", "", ""), req("patch", rbacGroup, "clusterrolebindings", "", "", "")); ok {
			add(label(r), []int{m.add(Identity{"ClusterRole", "", anyRole})}, r, w)
		}
	}
	if r, ok := firstAllowed(c, req("escalate", rbacGroup, "clusterroles", "", "", "")); ok {
		if w, ok := firstAllowed(c, req("create", rbacGroup, "clusterroles", "", "", ""),
			req("update", rbacGroup, "clusterroles", "", "", ""), req("patch", rbacGroup, "clusterroles", "", "", "")); ok {
			add(label(r), []int{m.add(Identity{"ClusterRole", "", anyRole})}, r, w)
		}
	}
	for _, ns := range m.roleScopes(c) {
		if r, ok := firstAllowed(c, req("bind", rbacGroup, "clusterroles", "", ns, anyRole)); ok {
			if w, ok := firstAllowed(c, req("create", rbacGroup, "rolebindings", "", ns, ""),
				req("update", rbacGroup, "rolebindings", "", ns, ""), req("patch", rbacGroup, "rolebindings", "", ns, "")); ok {
				add(label(r), []int{m.add(Identity{"ClusterRole", ns, anyRole})}, r, w)
				continue
			}
		}
		if r, ok := firstAllowed(c, req("escalate", rbacGroup, "roles", "", ns, "")); ok {
			if w, ok := firstAllowed(c, req("create", rbacGroup, "roles", "", ns, ""),
				req("update", rbacGroup, "roles", "", ns, ""), req("patch", rbacGroup, "roles", "", ns, "")); ok {
				add(label(r), []int{m.add(Identity{"ClusterRole", ns, anyRole})}, r, w)
			}
		}
	}

	// Have a client certificate for system:masters signed.
	if ap, ok := firstAllowed(c, req("update", csrGroup, "certificatesigningrequests", "approval", "", ""),
		req("patch", csrGroup, "certificatesigningrequests", "approval", "", "")); ok {
		sg, ok1 := firstAllowed(c, req("approve", csrGroup, "signers", "", "", clientSigner), req("approve", csrGroup, "signers", "", "", "kubernetes.io/*"))
		cr, ok2 := firstAllowed(c, req("create", csrGroup, "certificatesigningrequests", "", "", ""))
		if ok1 && ok2 {
			add(fmt.Sprintf("approve certificatesigningrequests for %s", clientSigner), []int{m.index[Identity{"Group", "", groupMasters}]}, ap, sg, cr)
		}
	}

	// Rewrite every pod the cluster admits: with a mutating webhook, or
	// with a mutating admission policy and a binding that applies it.
	if r, ok := admissionWrite(c, "mutatingwebhookconfigurations"); ok {
		add(label(r), m.allAccounts, r)
	} else if p, ok := admissionWrite(c, "mutatingadmissionpolicies"); ok {
		if b, ok := admissionWrite(c, "mutatingadmissionpolicybindings"); ok {
			add(label(p)+" and "+label(b), m.allAccounts, p, b)
		}
	}

	n.edges = es
	return es
}

// admissionWrite returns a request c may make that rewrites an admission
// object of the resource (cluster-scoped): create, or update or patch of
// any name, else of a name one of its rules names. A named rule is written
// for an object that exists (its holder's own webhook), and rewriting it
// rewrites what it admits.
func admissionWrite(c decider, resource string) (rbac.Request, bool) {
	for _, v := range admissionWrites {
		if r := req(v, admissionGroup, resource, "", "", ""); c.Allows(r) {
			return r, true
		}
	}
	for _, v := range admissionWrites[1:] {
		r := req(v, admissionGroup, resource, "", "", "")
		for _, name := range c.NamesFor(r) {
			r.Name = name
			if c.Allows(r) {
				return r, true
			}
		}
	}
	return rbac.Request{}, false
}

// perAccount adds the steps of a per-account request (serviceaccounts/token
// create, serviceaccounts impersonate): every account of a namespace where
// it is allowed for any name, else the accounts it is allowed for by name.
func (m *Model) perAccount(c decider, tmpl rbac.Request, add func(string, []int, ...rbac.Request)) {
	whole := map[string]bool{}
	for _, ns := range inNamespaces(c, tmpl, m.namespaces) {
		whole[ns] = true
		r := tmpl
		r.Namespace = ns
		add(label(r), m.accounts[ns], r)
	}
	for _, ns := range mayNamespaces(c, tmpl, m.namespaces) {
		if whole[ns] {
			continue
		}
		for _, a := range m.accounts[ns] {
			r := tmpl
			r.Namespace, r.Name = ns, m.nodes[a].id.Name
			if c.Allows(r) {
				add(label(r), []int{a}, r)
			}
		}
	}
}

// perName adds the steps of a cluster-wide request on named identities
// (impersonate users or groups): all of them when it is allowed for any
// name, else those it names. extra are requests the step takes too.
func (m *Model) perName(c decider, tmpl rbac.Request, targets []int, add func(string, []int, ...rbac.Request), extra ...rbac.Request) {
	if c.Allows(tmpl) {
		add(label(tmpl), targets, append([]rbac.Request{tmpl}, extra...)...)
		return
	}
	if !c.MayAllowNamed(tmpl) {
		return
	}
	for _, t := range targets {
		r := tmpl
		r.Name = m.nodes[t].id.Name
		if c.Allows(r) {
			add(label(r), []int{t}, append([]rbac.Request{r}, extra...)...)
		}
	}
}

// someoneToImpersonate returns a user or service-account impersonation c
// may make: the API server refuses to impersonate groups without a user.
func (m *Model) someoneToImpersonate(c decider) (rbac.Request, bool) {
	users := req("impersonate", "", "users", "", "", "")
	if c.Allows(users) {
		return users, true
	}
	if c.MayAllowNamed(users) {
		for _, u := range m.users {
			r := users
			r.Name = m.nodes[u].id.Name
			if c.Allows(r) {
				return r, true
			}
		}
	}
	sas := req("impersonate", "", "serviceaccounts", "", "", "")
	if ns := inNamespaces(c, sas, m.namespaces); len(ns) > 0 {
		sas.Namespace = ns[0]
		return sas, true
	}
	for _, ns := range mayNamespaces(c, sas, m.namespaces) {
		for _, a := range m.accounts[ns] {
			r := sas
			r.Namespace, r.Name = ns, m.nodes[a].id.Name
			if c.Allows(r) {
				return r, true
			}
		}
	}
	return rbac.Request{}, false
}

// roleScopes are the namespaces where c may hold bind or escalate: every
// namespace with accounts or RoleBindings when a ClusterRoleBinding may
// grant it, else those of its RoleBindings.
func (m *Model) roleScopes(c decider) []string {
	probe := []rbac.Request{req("bind", rbacGroup, "clusterroles", "", "", anyRole), req("escalate", rbacGroup, "roles", "", "", "")}
	for _, r := range probe {
		if c.MayAllowNamed(r) {
			return m.allNS
		}
	}
	return c.Namespaces()
}

func sortedUnion(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
