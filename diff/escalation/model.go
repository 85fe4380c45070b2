package escalation

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/workload"
)

// Options tune Build.
type Options struct {
	// DefaultNamespace is where objects without a namespace land ("" means
	// "default").
	DefaultNamespace string
	// LegacyTokens says whether the cluster may hold legacy token Secrets
	// the repository does not define: then reading (list or watch) the
	// Secrets of a namespace reaches every account of it. See the package
	// doc for why that is the default.
	LegacyTokens LegacyTokens
	// ControllerAccounts says whether kube-controller-manager runs each
	// controller as its own ServiceAccount of kube-system, bound to its
	// bootstrap role (see the package doc).
	ControllerAccounts ControllerAccounts
	// Changed reports whether the pull request changed a line; findings
	// point at the changed line that opened a path. Nil: none known.
	Changed func(path string, line int) bool
}

// assumesLegacyTokens is said on a step that only the policy's assumption
// of legacy token Secrets opens, so a reader knows what the path rests on
// and which switch removes it.
const assumesLegacyTokens = "if legacy token Secrets exist — policy legacyTokens: cluster"

// LegacyTokens is what the cluster is assumed to hold in the way of
// legacy service-account token Secrets.
type LegacyTokens string

const (
	// LegacyTokensCluster: any account may have one the repository does
	// not show (the default).
	LegacyTokensCluster LegacyTokens = "cluster"
	// LegacyTokensRepository: only the token Secrets the repository
	// defines exist.
	LegacyTokensRepository LegacyTokens = "repository"
)

// ControllerAccounts is what the cluster is assumed to run its
// controllers as.
type ControllerAccounts string

const (
	// ControllerAccountsKubeSystem: each controller runs as its own
	// ServiceAccount of kube-system (kube-controller-manager's
	// --use-service-account-credentials, kubeadm's default), with the
	// bootstrap role the API server binds to it (the default).
	ControllerAccountsKubeSystem ControllerAccounts = "kube-system"
	// ControllerAccountsNone: the controllers share one credential; their
	// accounts are known only where the repository names them.
	ControllerAccountsNone ControllerAccounts = "none"
)

// Identity is someone a subject can become: a ServiceAccount, a User, a
// Group, or, with Kind "ClusterRole", everyone bound to that role in
// Namespace ("" = cluster-wide). Name "cluster-admin" is "any role", which
// bind and escalate hand over; other ClusterRoles are subjects only, for
// roles whose rules a change extends while their holders are outside the
// repository (see Compare).
type Identity struct {
	Kind, Namespace, Name string
}

// Subject is the identity as the report names it.
func (id Identity) Subject() report.Subject {
	return report.Subject{Kind: id.Kind, Namespace: id.Namespace, Name: id.Name}
}

func (id Identity) String() string {
	switch id.Kind {
	case "ServiceAccount":
		return id.Namespace + "/" + id.Name
	case "Group":
		return "group " + id.Name
	case "ClusterRole":
		if id.Name != anyRole {
			return "everyone bound to " + id.Name
		}
		if id.Namespace == "" {
			return id.Name
		}
		return id.Name + " in " + id.Namespace
	}
	return id.Name
}

const (
	groupMasters         = "system:masters"
	groupAuthenticated   = "system:authenticated"
	groupServiceAccounts = "system:serviceaccounts"
	anyRole              = "cluster-admin"
)

// decider answers for one identity what the RBAC engine allows it; it is
// an *rbac.Holder for every real identity.
type decider interface {
	Allows(rbac.Request) bool
	MayAllowNamed(rbac.Request) bool
	Namespaces() []string
	Explain(rbac.Request) (rbac.Evidence, bool)
	NamesFor(rbac.Request) []string
}

type node struct {
	id  Identity
	can decider // nil until asked; see Model.decider
	// admin is set for identities that hold everything cluster-wide:
	// system:masters, cluster-admin, a subject bound to "*" on "*".
	admin    bool
	expanded bool
	edges    []edge
	power    *rbac.Power // nil until asked; see Model.power
	hasPower bool
	// assumed is set for a controller account the repository does not
	// name: it is known only by Options.ControllerAccounts.
	assumed bool
}

// edge is one primitive from a node: the requests it takes (all allowed)
// and the identities it reaches (often a shared slice: "every account of
// the namespace").
type edge struct {
	prim string
	reqs []rbac.Request
	to   []int
}

// Model is the escalation graph of one revision of one overlay: every
// identity it knows and, computed on demand, the primitives that lead from
// one to another.
type Model struct {
	g     *rbac.Graph
	o     Options
	objs  []*manifest.Object
	nodes []*node
	index map[Identity]int
	// starts are the subjects the repository's own bindings name, and its
	// accounts: whose paths are reported.
	starts []int
	// accounts[ns] are the service accounts known in ns; allAccounts all.
	accounts    map[string][]int
	allAccounts []int
	namespaces  []string // with accounts, sorted
	// allNS are the namespaces with accounts or RoleBindings, sorted: where
	// "any role" may be taken.
	allNS []string
	// running[ns] are the accounts whose pods run in ns and hold their
	// token (the repository's workloads), by pod name ("" for pods a
	// controller names); allRunning every such account.
	running    map[string][]podAccount
	runningNS  []string // sorted
	allRunning []int
	// tokenSecrets[ns] are the legacy token Secrets the repository
	// defines in ns.
	tokenSecrets map[string][]tokenSecret
	tokenNS      []string // sorted
	users        []int
	groups       []int
	// probes are the requests the primitives take, names and namespaces
	// aside; touched are the subjects some grant of which may allow one:
	// an identity none of whose subjects is among them takes no step (and
	// holds no "*" on "*").
	probes  *rbac.Probes
	touched map[report.Subject]bool
	// reached caches reachSet.
	reached map[Identity]map[Identity]bool
}

type podAccount struct {
	pod     string
	account int
}

type tokenSecret struct {
	name    string
	account int
}

// Build reads the identities of one revision: the subjects the
// repository's bindings name, the ServiceAccounts, workloads and legacy
// token Secrets of objs, the accounts kube-system's controllers run as
// (unless Options.ControllerAccounts is none), the group system:masters,
// and "any role" (in a namespace, or cluster-wide) as bind and escalate
// reach it.
func Build(g *rbac.Graph, objs []*manifest.Object, o Options) *Model {
	o.LegacyTokens = cmp.Or(o.LegacyTokens, LegacyTokensCluster)
	o.ControllerAccounts = cmp.Or(o.ControllerAccounts, ControllerAccountsKubeSystem)
	return &Model{g: g, o: o, objs: objs}
}

// init reads the identities, on first use: the base of a diff is read
// only when a subject reaches something at head.
func (m *Model) init() {
	if m.index != nil {
		return
	}
	g, objs, o := m.g, m.objs, m.o
	defNS := cmp.Or(o.DefaultNamespace, "default")
	m.index, m.accounts, m.probes = map[Identity]int{}, map[string][]int{}, rbac.NewProbes(probes())
	m.running, m.tokenSecrets = map[string][]podAccount{}, map[string][]tokenSecret{}
	start := map[int]bool{}
	for _, s := range g.Subjects(true) {
		start[m.add(Identity{s.Kind, s.Namespace, s.Name})] = true
	}
	sas := workload.ServiceAccounts(objs, defNS)
	for _, k := range slices.SortedFunc(maps.Keys(sas), func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) }) {
		start[m.add(Identity{"ServiceAccount", k[0], k[1]})] = true
	}
	for _, w := range workload.Find(objs, defNS) {
		i := m.add(Identity{"ServiceAccount", w.Namespace, w.ServiceAccount})
		start[i] = true
		if !workload.MountsToken(w, sas) {
			continue // exec into its pods finds no token
		}
		pod := ""
		if w.Kind == "Pod" {
			pod = w.Name
		}
		m.running[w.Namespace] = append(m.running[w.Namespace], podAccount{pod, i})
		if !slices.Contains(m.allRunning, i) {
			m.allRunning = append(m.allRunning, i)
		}
	}
	for _, obj := range objs {
		if obj.Kind != "Secret" || obj.Group() != "" {
			continue
		}
		typ, _ := obj.Get("type").(string)
		sa, _ := obj.Get("metadata", "annotations", "kubernetes.io/service-account.name").(string)
		if typ != "kubernetes.io/service-account-token" || sa == "" {
			continue
		}
		ns := cmp.Or(obj.Namespace, defNS)
		i := m.add(Identity{"ServiceAccount", ns, sa})
		m.tokenSecrets[ns] = append(m.tokenSecrets[ns], tokenSecret{obj.Name, i})
	}
	if o.ControllerAccounts == ControllerAccountsKubeSystem {
		// The built-in policy's service accounts: the controllers of
		// kube-system, bound to their roles by the bootstrap policy. They
		// are reached, and take steps, but are not starts: their own
		// grants are Kubernetes'.
		for _, s := range g.BootstrapSubjects() {
			id := Identity{s.Kind, s.Namespace, s.Name}
			if _, known := m.index[id]; !known && s.Kind == "ServiceAccount" {
				m.nodes[m.add(id)].assumed = true
			}
		}
	}
	m.add(Identity{"Group", "", groupMasters})
	m.add(Identity{"ClusterRole", "", anyRole})
	m.starts = slices.Sorted(maps.Keys(start))
	for i, n := range m.nodes {
		switch n.id.Kind {
		case "ServiceAccount":
			m.accounts[n.id.Namespace] = append(m.accounts[n.id.Namespace], i)
			m.allAccounts = append(m.allAccounts, i)
		case "User":
			m.users = append(m.users, i)
		case "Group":
			m.groups = append(m.groups, i)
		}
	}
	m.namespaces = slices.Sorted(maps.Keys(m.accounts))
	m.allNS = sortedUnion(m.namespaces, g.Namespaces())
	m.touched = g.Touches(m.probes)
	m.runningNS = slices.Sorted(maps.Keys(m.running))
	m.tokenNS = slices.Sorted(maps.Keys(m.tokenSecrets))
}

// add returns the node of id, creating it if new.
func (m *Model) add(id Identity) int {
	if i, ok := m.index[id]; ok {
		return i
	}
	m.index[id] = len(m.nodes)
	m.nodes = append(m.nodes, &node{id: id})
	return len(m.nodes) - 1
}

// decider returns what the engine allows node i, made on first use (a
// model of ten thousand accounts asks about few of them at base).
func (m *Model) decider(i int) decider {
	n := m.nodes[i]
	if n.can != nil {
		return n.can
	}
	switch id := n.id; {
	case id.Kind == "Group" && id.Name == groupMasters:
		// system:masters is let through before RBAC is asked.
		n.can, n.admin = everything(""), true
	case id.Kind == "ClusterRole" && id.Name == anyRole:
		n.can, n.admin = everything(id.Namespace), id.Namespace == ""
	case id.Kind == "ClusterRole":
		h := m.g.RoleHolder(id.Name)
		if h == nil {
			n.can = nothing{} // no such role in this revision
			break
		}
		n.can = h
		n.admin = h.Allows(rbac.Request{ResourceRequest: true, Verb: "*", APIGroup: "*", Resource: "*"})
	default:
		h := m.g.Holder(userOf(id))
		n.can = h
		n.admin = h.Allows(rbac.Request{ResourceRequest: true, Verb: "*", APIGroup: "*", Resource: "*"})
	}
	return n.can
}

// isAdmin reports whether node i holds everything cluster-wide.
func (m *Model) isAdmin(i int) bool {
	if m.quiet(i) {
		return false
	}
	m.decider(i)
	return m.nodes[i].admin
}

// quiet reports whether no grant of node i's user may allow a request a
// primitive takes: then it takes no step, and it is not an admin.
func (m *Model) quiet(i int) bool {
	id := m.nodes[i].id
	if id.Kind == "ClusterRole" || id.Kind == "Group" && id.Name == groupMasters || m.touched[id.Subject()] {
		// (A ClusterRole stands for its holders, whoever they are.)
		return false
	}
	for _, g := range supergroups(id) {
		if m.touched[g.Subject()] {
			return false
		}
	}
	return true
}

// userOf is who the authenticator (or the impersonation filter) makes of
// an identity: a service account is in its three groups, every other user
// in system:authenticated only (its other groups are not known here), and
// a group stands for a member with no name of its own.
func userOf(id Identity) rbac.User {
	switch id.Kind {
	case "ServiceAccount":
		return rbac.User{Name: "system:serviceaccount:" + id.Namespace + ":" + id.Name,
			Groups: []string{groupServiceAccounts, groupServiceAccounts + ":" + id.Namespace, groupAuthenticated}}
	case "User":
		return rbac.User{Name: id.Name, Groups: []string{groupAuthenticated}}
	}
	groups := []string{id.Name}
	switch {
	case id.Name == groupAuthenticated || id.Name == "system:unauthenticated":
	case strings.HasPrefix(id.Name, groupServiceAccounts+":"):
		groups = append(groups, groupServiceAccounts, groupAuthenticated)
	default:
		groups = append(groups, groupAuthenticated)
	}
	return rbac.User{Groups: groups}
}

// supergroups are the groups every member of id is in.
func supergroups(id Identity) []Identity {
	var names []string
	switch id.Kind {
	case "ServiceAccount", "User":
		names = userOf(id).Groups
	case "Group":
		names = userOf(id).Groups[1:]
	}
	out := make([]Identity, len(names))
	for i, n := range names {
		out[i] = Identity{"Group", "", n}
	}
	return out
}

// everything is what "any role" in a scope allows: with bind or escalate a
// subject can give itself any rule there, so every resource request in
// the namespace, or every request at all cluster-wide.
type everything string

func (e everything) Allows(r rbac.Request) bool {
	return e == "" || r.ResourceRequest && r.Namespace == string(e)
}

func (e everything) MayAllowNamed(r rbac.Request) bool { return e.Allows(r) }

func (e everything) NamesFor(rbac.Request) []string { return nil }

func (e everything) Namespaces() []string {
	if e == "" {
		return nil
	}
	return []string{string(e)}
}

func (e everything) Explain(r rbac.Request) (rbac.Evidence, bool) {
	if !e.Allows(r) {
		return rbac.Evidence{}, false
	}
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	p := report.Permission{Verbs: []string{r.Verb}, APIGroups: []string{r.APIGroup}, Resources: []string{res}, ResourceNames: []string{}, NonResourceURLs: []string{}}
	if r.Name != "" {
		p.ResourceNames = []string{r.Name}
	}
	// The role it has bound to itself, or written: no line of the repository.
	via := []report.Ref{{Kind: "ClusterRole", Name: anyRole}}
	return rbac.Evidence{Permission: p, Scope: report.Scope{Cluster: e == "", Namespace: string(e)}, Via: via, Builtin: true}, true
}

// nothing is what a ClusterRole that does not exist allows.
type nothing struct{}

func (nothing) Allows(rbac.Request) bool                   { return false }
func (nothing) MayAllowNamed(rbac.Request) bool            { return false }
func (nothing) Namespaces() []string                       { return nil }
func (nothing) NamesFor(rbac.Request) []string             { return nil }
func (nothing) Explain(rbac.Request) (rbac.Evidence, bool) { return rbac.Evidence{}, false }

// power is the most severe permission of node i, and false when it holds
// nothing beyond what every caller holds.
func (m *Model) power(i int) (rbac.Power, bool) {
	n := m.nodes[i]
	if n.power == nil {
		var p rbac.Power
		switch h := m.decider(i).(type) {
		case *rbac.Holder:
			p, n.hasPower = h.Power()
		case everything:
			star := []string{"*"}
			p = rbac.Power{Severity: report.Critical,
				Permission: report.Permission{Verbs: star, APIGroups: star, Resources: star, ResourceNames: []string{}, NonResourceURLs: []string{}}}
			if h == "" {
				p.Scope, p.Risk = report.Scope{Cluster: true}, "full control of the cluster"
				if n.id.Kind == "Group" {
					p.Risk = "system:masters is let through before RBAC is asked: full control of the cluster"
				}
			} else {
				p.Scope, p.Risk = report.Scope{Namespace: string(h)}, "full control of the namespace, including its Secrets, pods and RBAC"
			}
			n.hasPower = true
		}
		n.power = &p
	}
	return *n.power, n.hasPower
}
