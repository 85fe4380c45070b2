package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/rbacguard/rbacguard/diff/escalation"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
)

var escGraphs = flag.Int("escalation-graphs", 300, "number of generated graphs for TestEscalationClosure")

// TestEscalationClosure holds diff/escalation to the authorizer. On
// generated graphs with service accounts, workloads and legacy token
// Secrets, and kube-system's controller accounts with their bootstrap
// roles (under both controllerAccounts settings), it computes for every identity of the model the closure of
// identities it can become by brute force — every primitive of the
// package doc written out again here as the requests it takes, each
// request asked of the Kubernetes RBAC authorizer, every pair of
// identities tried — and compares it with Model.Reach both ways: no
// identity the engine reaches that the authorizer does not let it reach,
// none the authorizer lets it reach that the engine misses. The identities
// and namespaces are the model's (that is a definition); every step
// between them is the authorizer's. Rules name objects from escNames, and
// the brute force tries each of them where a step takes a name of the
// rule's choosing (a named webhook configuration). It fails when a new
// primitive (token minting, named admission writes, mutating admission
// policies, a step to a controller account) is never taken.
func TestEscalationClosure(t *testing.T) {
	n := *escGraphs
	if testing.Short() {
		n = 60
	}
	var identities, reached int
	for i := range n {
		g := newGen(rand.NewPCG(*seedFlag^0xe5ca1a7e, uint64(i)))
		p := g.Generate()
		g.addEscalationRules(&p)
		if i%2 == 1 {
			p, _ = g.Mutate(p)
		}
		w := g.world()
		ids, got, want, err := escalationClosures(p, w)
		if err != nil {
			t.Fatalf("graph %d: %v", i, err)
		}
		identities += len(ids)
		for _, id := range ids {
			reached += len(got[id])
			if extra, missing := setDiff(got[id], want[id]), setDiff(want[id], got[id]); len(extra)+len(missing) > 0 {
				y, _ := p.MarshalYAML()
				t.Errorf("graph %d (seed %d), identity %v:\nengine reaches, authorizer does not: %v\nauthorizer reaches, engine does not: %v\nlegacy tokens: %s, controller accounts: %s\nworld:\n%s\npolicy:\n%s",
					i, *seedFlag, id, extra, missing, w.legacy, w.controllers, w.yaml(), y)
				return
			}
		}
	}
	t.Logf("%d graphs, %d identities, %d (identity, reached identity) pairs agreed; steps taken: %v", n, identities, reached, stepsTaken)
	if reached == 0 {
		t.Error("no identity reached another: the generator does not exercise the primitives")
	}
	for _, s := range []string{"mint", "named admission write", "admission policy", "controller account"} {
		if stepsTaken[s] == 0 {
			t.Errorf("no %s step was taken: the generator does not exercise it", s)
		}
	}
}

// stepsTaken counts the brute force's steps of the primitives the
// generator must exercise.
var stepsTaken = map[string]int{}

func setDiff(a, b map[escalation.Identity]bool) []escalation.Identity {
	var out []escalation.Identity
	for id := range a {
		if !b[id] {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(x, y escalation.Identity) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
	return out
}

// escalationRules are rules that open the primitives, drawn into the
// generated roles so that paths are common.
func (g *gen) escalationRule() rbacv1.PolicyRule {
	r := func(verbs, groups, resources []string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
	}
	var out rbacv1.PolicyRule
	switch g.r.IntN(12) {
	case 0:
		out = r(g.some([]string{"create", "update", "patch", "get"}, 2), []string{""}, []string{"pods"})
	case 1:
		out = r(g.some([]string{"create", "patch"}, 1), g.some([]string{"apps", "batch", "extensions"}, 1), g.some([]string{"deployments", "jobs", "cronjobs", "daemonsets"}, 2))
	case 2:
		out = r(g.some([]string{"create", "get", "update", "patch"}, 2), []string{""}, g.some([]string{"pods/exec", "pods/attach", "pods/ephemeralcontainers", "pods/portforward"}, 2))
	case 3:
		out = r(g.some([]string{"get", "create"}, 1), []string{""}, []string{"nodes/proxy"})
	case 4:
		out = r([]string{"create"}, []string{""}, []string{"serviceaccounts/token"})
	case 5:
		out = r([]string{"impersonate"}, []string{""}, g.some([]string{"users", "groups", "serviceaccounts"}, 2))
	case 6:
		out = r(g.some([]string{"get", "list", "watch", "create"}, 2), []string{""}, []string{"secrets"})
	case 7:
		out = r(g.some([]string{"bind", "escalate"}, 2), []string{"rbac.authorization.k8s.io"}, g.some([]string{"roles", "clusterroles"}, 2))
	case 8:
		out = r(g.some([]string{"create", "update", "patch"}, 2), []string{"rbac.authorization.k8s.io"}, g.some([]string{"roles", "clusterroles", "rolebindings", "clusterrolebindings"}, 2))
	case 9:
		out = r(g.some([]string{"create", "update", "approve"}, 3), []string{"certificates.k8s.io"},
			g.some([]string{"certificatesigningrequests", "certificatesigningrequests/approval", "signers"}, 3))
	case 10:
		out = r(g.some([]string{"create", "update", "patch"}, 1), []string{"admissionregistration.k8s.io"},
			g.some([]string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations", "mutatingadmissionpolicies",
				"mutatingadmissionpolicybindings", "validatingadmissionpolicies"}, 2))
	default:
		out = r([]string{"*"}, []string{"*"}, []string{"*"})
	}
	if g.chance(0.3) {
		out.ResourceNames = g.some(escNames, 2)
	}
	return out
}

// escNames are the resourceNames generated rules name: every name the
// brute force tries where a primitive takes a name of the rule's choosing.
var escNames = []string{"sa0", "sa1", "alice", "system:masters", "devs", "cluster-admin", "sa0-token",
	"kubernetes.io/kube-apiserver-client", "kubernetes.io/*", "web", "pod0", "hook0"}

// addEscalationRules adds such rules to some of the graph's roles, and
// binds one ClusterRole of them to a generated subject.
func (g *gen) addEscalationRules(p *Policy) {
	for _, s := range p.ruleSets() {
		if g.chance(0.4) {
			*s.rules = append(slices.Clone(*s.rules), g.escalationRule())
		}
	}
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: g.fresh("esc")}}
	for range 1 + g.r.IntN(2) {
		cr.Rules = append(cr.Rules, g.escalationRule())
	}
	if g.chance(0.3) {
		// The certificate path takes three rules at once.
		const cg = "certificates.k8s.io"
		cr.Rules = append(cr.Rules,
			rbacv1.PolicyRule{Verbs: []string{"create"}, APIGroups: []string{cg}, Resources: []string{"certificatesigningrequests"}},
			rbacv1.PolicyRule{Verbs: []string{pick(g, []string{"update", "patch", "get"})}, APIGroups: []string{cg}, Resources: []string{"certificatesigningrequests/approval"}},
			rbacv1.PolicyRule{Verbs: []string{pick(g, []string{"approve", "sign"})}, APIGroups: []string{cg}, Resources: []string{"signers"},
				ResourceNames: []string{pick(g, []string{"kubernetes.io/kube-apiserver-client", "kubernetes.io/*", "kubernetes.io/kubelet-serving"})}})
	}
	if g.chance(0.15) {
		// A mutating admission policy takes a policy and a binding.
		const ag = "admissionregistration.k8s.io"
		for _, res := range []string{"mutatingadmissionpolicies", "mutatingadmissionpolicybindings"} {
			r := rbacv1.PolicyRule{Verbs: []string{pick(g, []string{"create", "update", "patch"})}, APIGroups: []string{ag}, Resources: []string{res}}
			if g.chance(0.3) {
				r.ResourceNames = []string{"hook0"}
			}
			cr.Rules = append(cr.Rules, r)
		}
	}
	p.ClusterRoles = append(p.ClusterRoles, cr)
	ns := pick(g, genNamespaces[:5])
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}
	if g.chance(0.5) {
		p.RoleBindings = append(p.RoleBindings, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: g.fresh("escrb"), Namespace: ns}, RoleRef: ref, Subjects: g.subjects(ns)})
	} else {
		p.ClusterRoleBindings = append(p.ClusterRoleBindings, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: g.fresh("esccrb")}, RoleRef: ref, Subjects: g.subjects("")})
	}
}

// world is what an overlay holds besides RBAC: accounts, workloads and
// legacy token Secrets, as the brute force reads them.
type world struct {
	accounts  []escalation.Identity // ServiceAccount objects
	automount map[escalation.Identity]*bool
	pods      []escWorkload
	secrets   []tokenSecret
	legacy    escalation.LegacyTokens
	// controllers is whether the model knows kube-system's controller
	// accounts; the brute force reads them from the model.
	controllers escalation.ControllerAccounts
}

type escWorkload struct {
	kind, ns, name, account string
	automount               *bool
}

type tokenSecret struct{ ns, name, account string }

func (g *gen) world() world {
	w := world{automount: map[escalation.Identity]*bool{}, legacy: escalation.LegacyTokensCluster, controllers: escalation.ControllerAccountsKubeSystem}
	if g.chance(0.5) {
		w.legacy = escalation.LegacyTokensRepository
	}
	if g.chance(0.2) {
		w.controllers = escalation.ControllerAccountsNone
	}
	flag := func() *bool {
		switch g.r.IntN(4) {
		case 0:
			b := false
			return &b
		case 1:
			b := true
			return &b
		}
		return nil
	}
	nss := []string{"ns-a", "ns-b", "default", "kube-system"}
	for range g.r.IntN(5) {
		id := escalation.Identity{Kind: "ServiceAccount", Namespace: pick(g, nss), Name: pick(g, []string{"sa0", "sa1", "sa2"})}
		if _, dup := w.automount[id]; dup {
			continue
		}
		w.accounts = append(w.accounts, id)
		w.automount[id] = flag()
	}
	for i := range g.r.IntN(4) {
		kind := pick(g, []string{"Pod", "Deployment"})
		name := pick(g, []string{"web", "pod0", fmt.Sprintf("w%d", i)})
		w.pods = append(w.pods, escWorkload{kind: kind, ns: pick(g, nss), name: name, account: pick(g, []string{"sa0", "sa1", "default"}), automount: flag()})
	}
	for range g.r.IntN(3) {
		a := pick(g, []string{"sa0", "sa1"})
		w.secrets = append(w.secrets, tokenSecret{ns: pick(g, nss), name: a + "-token", account: a})
	}
	return w
}

func (w world) yaml() []byte {
	var b bytes.Buffer
	for _, a := range w.accounts {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n  namespace: %s\n", a.Name, a.Namespace)
		if m := w.automount[a]; m != nil {
			fmt.Fprintf(&b, "automountServiceAccountToken: %v\n", *m)
		}
	}
	for i, p := range w.pods {
		spec := fmt.Sprintf("serviceAccountName: %s\n", p.account)
		if p.automount != nil {
			spec += fmt.Sprintf("automountServiceAccountToken: %v\n", *p.automount)
		}
		spec += "containers:\n- name: c\n  image: example.com/c:1\n"
		if p.kind == "Pod" {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s", p.name, p.ns, indent(spec, "  "))
		} else {
			fmt.Fprintf(&b, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s-%d\n  namespace: %s\nspec:\n  template:\n    spec:\n%s", p.name, i, p.ns, indent(spec, "      "))
		}
	}
	for _, s := range w.secrets {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n  annotations:\n    kubernetes.io/service-account.name: %s\ntype: kubernetes.io/service-account-token\n", s.name, s.ns, s.account)
	}
	return b.Bytes()
}

func indent(s, by string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	return by + strings.Join(lines, by) + "\n"
}

// escalationClosures builds the engine's model of p and w and returns its
// identities with, for each, the closure the engine computes and the one
// the brute force finds through the authorizer.
func escalationClosures(p Policy, w world) ([]escalation.Identity, map[escalation.Identity]map[escalation.Identity]bool, map[escalation.Identity]map[escalation.Identity]bool, error) {
	data, err := graphYAML(p)
	if err != nil {
		return nil, nil, nil, err
	}
	objs, errs := manifest.Decode("graph.yaml", append(data, w.yaml()...))
	if len(errs) > 0 {
		return nil, nil, nil, fmt.Errorf("decode: %v", errs[0])
	}
	m := escalation.Build(rbac.Build(objs, rbac.Options{}), objs, escalation.Options{LegacyTokens: w.legacy, ControllerAccounts: w.controllers})

	got := map[escalation.Identity]map[escalation.Identity]bool{}
	for _, id := range m.Identities() {
		got[id] = set(m.Reach(id))
	}
	// Reach adds "any role" identities as it finds them: ask them too.
	for {
		more := false
		for _, id := range m.Identities() {
			if _, ok := got[id]; !ok {
				got[id], more = set(m.Reach(id)), true
			}
		}
		if !more {
			break
		}
	}

	bf, err := newBruteForce(p, w, m)
	if err != nil {
		return nil, nil, nil, err
	}
	ids := slices.Collect(maps.Keys(got))
	want := map[escalation.Identity]map[escalation.Identity]bool{}
	for _, id := range ids {
		want[id] = bf.closure(id)
	}
	return ids, got, want, nil
}

func set(ids []escalation.Identity) map[escalation.Identity]bool {
	s := map[escalation.Identity]bool{}
	for _, id := range ids {
		s[id] = true
	}
	return s
}

// bruteForce answers every step with the authorizer.
type bruteForce struct {
	o          *Oracle
	w          world
	accounts   map[string][]escalation.Identity // by namespace
	all        []escalation.Identity            // every account
	users      []escalation.Identity
	groups     []escalation.Identity
	namespaces []string // where "any role" may be taken: the model's
	running    []escWorkload
	// stepsOf remembers steps: every closure of a graph walks the same
	// identities (kube-system's controllers among them).
	stepsOf map[escalation.Identity][]escalation.Identity
}

const anyRoleUser = "rbacguard:any-role"

func newBruteForce(p Policy, w world, m *escalation.Model) (*bruteForce, error) {
	bp, err := bootstrapPolicy()
	if err != nil {
		return nil, err
	}
	bf := &bruteForce{w: w, accounts: map[string][]escalation.Identity{}, namespaces: m.Namespaces(), stepsOf: map[escalation.Identity][]escalation.Identity{}}
	for _, id := range m.Identities() {
		switch id.Kind {
		case "ServiceAccount":
			bf.accounts[id.Namespace] = append(bf.accounts[id.Namespace], id)
			bf.all = append(bf.all, id)
		case "User":
			bf.users = append(bf.users, id)
		case "Group":
			bf.groups = append(bf.groups, id)
		}
	}
	for _, pw := range w.pods {
		if mounts(pw, w) {
			bf.running = append(bf.running, pw)
		}
	}
	// "Any role" in a namespace, or cluster-wide, is a user bound to
	// cluster-admin there.
	extra := Policy{ClusterRoleBindings: []*rbacv1.ClusterRoleBinding{{ObjectMeta: metav1.ObjectMeta{Name: anyRoleUser},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: anyRoleUser}}}}}
	for _, ns := range bf.namespaces {
		extra.RoleBindings = append(extra.RoleBindings, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: anyRoleUser, Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: anyRoleUser + ":" + ns}}})
	}
	bf.o, err = NewOracle(overlay(bp, p).Merge(extra))
	return bf, err
}

// mounts is the token precedence: the pod's automountServiceAccountToken,
// else its account's, else true.
func mounts(p escWorkload, w world) bool {
	if p.automount != nil {
		return *p.automount
	}
	if a := w.automount[escalation.Identity{Kind: "ServiceAccount", Namespace: p.ns, Name: p.account}]; a != nil {
		return *a
	}
	return true
}

// userOf is the identity as the authenticator (or impersonation) makes it.
func userOf(id escalation.Identity) *user.DefaultInfo {
	switch id.Kind {
	case "ServiceAccount":
		return ServiceAccountUser(id.Namespace, id.Name)
	case "User":
		return &user.DefaultInfo{Name: id.Name, Groups: []string{user.AllAuthenticated}}
	case "ClusterRole":
		if id.Namespace == "" {
			return &user.DefaultInfo{Name: anyRoleUser}
		}
		return &user.DefaultInfo{Name: anyRoleUser + ":" + id.Namespace}
	}
	groups := []string{id.Name}
	switch {
	case id.Name == user.AllAuthenticated || id.Name == user.AllUnauthenticated:
	case strings.HasPrefix(id.Name, "system:serviceaccounts:"):
		groups = append(groups, "system:serviceaccounts", user.AllAuthenticated)
	default:
		groups = append(groups, user.AllAuthenticated)
	}
	return &user.DefaultInfo{Name: "rbacguard:member", Groups: groups}
}

func (bf *bruteForce) allows(u user.Info, verb, group, resource, sub, ns, name string) bool {
	return bf.o.Allows(authorizer.AttributesRecord{User: u, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub,
		Namespace: ns, Name: name, ResourceRequest: true})
}

func (bf *bruteForce) admin(id escalation.Identity) bool {
	if id.Kind == "ClusterRole" && id.Namespace == "" {
		return true
	}
	return bf.allows(userOf(id), "*", "*", "*", "", "", "")
}

func (bf *bruteForce) closure(from escalation.Identity) map[escalation.Identity]bool {
	seen := map[escalation.Identity]bool{from: true}
	queue := []escalation.Identity{from}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if bf.admin(id) {
			continue // nothing lies beyond an identity that holds everything
		}
		ts, ok := bf.stepsOf[id]
		if !ok {
			ts = bf.steps(id)
			bf.stepsOf[id] = ts
		}
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	delete(seen, from)
	return seen
}

// steps lists the identities id can become in one step, each primitive of
// the package doc written as the requests it takes.
func (bf *bruteForce) steps(id escalation.Identity) []escalation.Identity {
	u := userOf(id)
	any := func(reqs ...[6]string) bool {
		for _, r := range reqs {
			if bf.allows(u, r[0], r[1], r[2], r[3], r[4], r[5]) {
				return true
			}
		}
		return false
	}
	var out []escalation.Identity
	makers := [][2]string{{"", "pods"}, {"apps", "deployments"}, {"apps", "replicasets"}, {"apps", "statefulsets"}, {"apps", "daemonsets"},
		{"batch", "jobs"}, {"batch", "cronjobs"}, {"", "replicationcontrollers"}, {"extensions", "deployments"}, {"extensions", "replicasets"}, {"extensions", "daemonsets"}}
	for ns, accts := range bf.accounts {
		for _, mk := range makers {
			if any([6]string{"create", mk[0], mk[1], "", ns, ""}, [6]string{"update", mk[0], mk[1], "", ns, ""}, [6]string{"patch", mk[0], mk[1], "", ns, ""}) {
				out = append(out, accts...)
				break
			}
		}
		if bf.w.legacy == escalation.LegacyTokensCluster && any([6]string{"list", "", "secrets", "", ns, ""}, [6]string{"watch", "", "secrets", "", ns, ""}) {
			out = append(out, accts...)
		}
		// A token Secret of one's own making, read back.
		if any([6]string{"create", "", "secrets", "", ns, ""}) &&
			any([6]string{"get", "", "secrets", "", ns, ""}, [6]string{"list", "", "secrets", "", ns, ""}, [6]string{"watch", "", "secrets", "", ns, ""}) {
			out = append(out, accts...)
			stepsTaken["mint"]++
		}
		for _, a := range accts {
			if any([6]string{"create", "", "serviceaccounts", "token", ns, a.Name}, [6]string{"impersonate", "", "serviceaccounts", "", ns, a.Name}) {
				out = append(out, a)
			}
		}
	}
	proxy := any([6]string{"get", "", "nodes", "proxy", "", ""}, [6]string{"create", "", "nodes", "proxy", "", ""})
	for _, p := range bf.running {
		pod := ""
		if p.kind == "Pod" {
			pod = p.name
		}
		acct := escalation.Identity{Kind: "ServiceAccount", Namespace: p.ns, Name: p.account}
		if proxy || any([6]string{"create", "", "pods", "exec", p.ns, pod}, [6]string{"create", "", "pods", "attach", p.ns, pod},
			[6]string{"get", "", "pods", "exec", p.ns, pod}, [6]string{"get", "", "pods", "attach", p.ns, pod},
			[6]string{"update", "", "pods", "ephemeralcontainers", p.ns, pod}, [6]string{"patch", "", "pods", "ephemeralcontainers", p.ns, pod}) {
			out = append(out, acct)
		}
	}
	for _, s := range bf.w.secrets {
		if any([6]string{"get", "", "secrets", "", s.ns, s.name}, [6]string{"list", "", "secrets", "", s.ns, ""}, [6]string{"watch", "", "secrets", "", s.ns, ""}) {
			out = append(out, escalation.Identity{Kind: "ServiceAccount", Namespace: s.ns, Name: s.account})
		}
	}
	someone := any([6]string{"impersonate", "", "users", "", "", ""})
	for _, us := range bf.users {
		if any([6]string{"impersonate", "", "users", "", "", us.Name}) {
			out = append(out, us)
			someone = true
		}
	}
	for ns, accts := range bf.accounts {
		someone = someone || any([6]string{"impersonate", "", "serviceaccounts", "", ns, ""})
		for _, a := range accts {
			someone = someone || any([6]string{"impersonate", "", "serviceaccounts", "", ns, a.Name})
		}
	}
	if someone {
		for _, gr := range bf.groups {
			if any([6]string{"impersonate", "", "groups", "", "", gr.Name}) {
				out = append(out, gr)
			}
		}
	}
	const rg = "rbac.authorization.k8s.io"
	write := func(res, ns string) [][6]string {
		return [][6]string{{"create", rg, res, "", ns, ""}, {"update", rg, res, "", ns, ""}, {"patch", rg, res, "", ns, ""}}
	}
	if any([6]string{"bind", rg, "clusterroles", "", "", "cluster-admin"}) && any(write("clusterrolebindings", "")...) ||
		any([6]string{"escalate", rg, "clusterroles", "", "", ""}) && any(write("clusterroles", "")...) {
		out = append(out, escalation.Identity{Kind: "ClusterRole", Name: "cluster-admin"})
	}
	for _, ns := range bf.namespaces {
		if any([6]string{"bind", rg, "clusterroles", "", ns, "cluster-admin"}) && any(write("rolebindings", ns)...) ||
			any([6]string{"escalate", rg, "roles", "", ns, ""}) && any(write("roles", ns)...) {
			out = append(out, escalation.Identity{Kind: "ClusterRole", Namespace: ns, Name: "cluster-admin"})
		}
	}
	const cg = "certificates.k8s.io"
	if any([6]string{"create", cg, "certificatesigningrequests", "", "", ""}) &&
		any([6]string{"update", cg, "certificatesigningrequests", "approval", "", ""}, [6]string{"patch", cg, "certificatesigningrequests", "approval", "", ""}) &&
		any([6]string{"approve", cg, "signers", "", "", "kubernetes.io/kube-apiserver-client"}, [6]string{"approve", cg, "signers", "", "", "kubernetes.io/*"}) {
		out = append(out, escalation.Identity{Kind: "Group", Name: "system:masters"})
	}
	// An admission object rewritten: created, or updated or patched under
	// any name or one a rule may name.
	const ag = "admissionregistration.k8s.io"
	rewrite := func(res string) bool {
		if any([6]string{"create", ag, res, "", "", ""}, [6]string{"update", ag, res, "", "", ""}, [6]string{"patch", ag, res, "", "", ""}) {
			return true
		}
		for _, name := range escNames {
			if any([6]string{"update", ag, res, "", "", name}, [6]string{"patch", ag, res, "", "", name}) {
				stepsTaken["named admission write"]++
				return true
			}
		}
		return false
	}
	switch {
	case rewrite("mutatingwebhookconfigurations"):
		out = append(out, bf.all...)
	case rewrite("mutatingadmissionpolicies") && rewrite("mutatingadmissionpolicybindings"):
		out = append(out, bf.all...)
		stepsTaken["admission policy"]++
	}
	for _, t := range out {
		if t.Namespace == "kube-system" && strings.HasSuffix(t.Name, "-controller") {
			stepsTaken["controller account"]++
			break
		}
	}
	return out
}
