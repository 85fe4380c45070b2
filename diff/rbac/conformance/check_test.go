package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"slices"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// bootstrapPolicy is computed once: every oracle starts from it.
var bootstrapPolicy = sync.OnceValues(Bootstrap)

// side is one commit of a pair as both deciders see it.
type side struct {
	graph  *rbac.Graph
	oracle *Oracle
}

// graphYAML is the manifest stream the engine reads for p. Namespaced
// objects in "default" are written without a namespace on every other
// object, so the engine's namespace defaulting is exercised too.
func graphYAML(p Policy) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range p.Objects() {
		if m, ok := o.(metav1.Object); ok && i%2 == 1 && m.GetNamespace() == "default" {
			m.SetNamespace("")
		}
		doc, err := objectYAML(o)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(doc)
	}
	return b.Bytes(), nil
}

func buildSide(p Policy, name string) (*side, error) {
	data, err := graphYAML(p)
	if err != nil {
		return nil, err
	}
	objs, errs := manifest.Decode(name, data)
	if len(errs) > 0 {
		return nil, fmt.Errorf("decode %s: %v", name, errs[0])
	}
	bp, err := bootstrapPolicy()
	if err != nil {
		return nil, err
	}
	o, err := NewOracle(overlay(bp, p))
	if err != nil {
		return nil, err
	}
	return &side{graph: rbac.Build(objs, rbac.Options{}), oracle: o}, nil
}

// overlay is bootstrap with p applied over it: an object of p replaces the
// built-in object of the same kind, namespace and name, as kubectl apply
// would (and as the engine's "last definition wins" does).
func overlay(bootstrap, p Policy) Policy {
	key := func(kind, ns, name string) string { return kind + "/" + ns + "/" + name }
	mine := map[string]bool{}
	for _, o := range p.Objects() {
		m := o.(metav1.Object)
		mine[key(fmt.Sprintf("%T", o), m.GetNamespace(), m.GetName())] = true
	}
	var q Policy
	for _, o := range bootstrap.ClusterRoles {
		if !mine[key("*v1.ClusterRole", "", o.Name)] {
			q.ClusterRoles = append(q.ClusterRoles, o)
		}
	}
	for _, o := range bootstrap.ClusterRoleBindings {
		if !mine[key("*v1.ClusterRoleBinding", "", o.Name)] {
			q.ClusterRoleBindings = append(q.ClusterRoleBindings, o)
		}
	}
	for _, o := range bootstrap.Roles {
		if !mine[key("*v1.Role", o.Namespace, o.Name)] {
			q.Roles = append(q.Roles, o)
		}
	}
	for _, o := range bootstrap.RoleBindings {
		if !mine[key("*v1.RoleBinding", o.Namespace, o.Name)] {
			q.RoleBindings = append(q.RoleBindings, o)
		}
	}
	return q.Merge(p)
}

func attributes(u *user.DefaultInfo, r rbac.Request) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{User: u, Verb: r.Verb, Namespace: r.Namespace, APIGroup: r.APIGroup,
		Resource: r.Resource, Subresource: r.Subresource, Name: r.Name, ResourceRequest: r.ResourceRequest, Path: r.Path}
}

func engineUser(u *user.DefaultInfo) rbac.User { return rbac.User{Name: u.Name, Groups: u.Groups} }

// failure is one disagreement between the engine and the oracle.
type failure struct {
	kind    string // allows-base, allows-head, missing, extra, role-subject, missing-decrease, extra-decrease
	user    *user.DefaultInfo
	req     rbac.Request
	finding *report.Finding
	engine  bool
	oracle  bool
}

func (f failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", f.kind)
	if f.user != nil {
		fmt.Fprintf(&b, "\nuser: %s %v\nrequest: %s", f.user.Name, f.user.Groups, describe(f.req))
	}
	switch f.kind {
	case "allows-base", "allows-head":
		fmt.Fprintf(&b, "\nengine Allows=%v, authorizer=%v", f.engine, f.oracle)
	case "missing":
		b.WriteString("\nthe authorizer allows this at head and not at base, and no rbac.increase finding covers it")
	case "missing-decrease":
		b.WriteString("\nthe authorizer allows this at base and not at head, and no rbac.decrease finding covers it")
	}
	if f.finding != nil {
		fmt.Fprintf(&b, "\nfinding: %s %s %s: %s", f.finding.Subject, f.finding.Scope, f.finding.Permission, f.finding.Message)
		switch f.kind {
		case "extra":
			b.WriteString("\nno request of the vocabulary that the finding covers is allowed at head and denied at base for a user it names")
		case "extra-decrease":
			b.WriteString("\nno request of the vocabulary that the finding covers is allowed at base and denied at head for a user it names")
		}
	}
	return b.String()
}

func describe(r rbac.Request) string {
	if !r.ResourceRequest {
		return fmt.Sprintf("%s %s", r.Verb, r.Path)
	}
	res := r.Resource
	if r.APIGroup != "" {
		res = r.APIGroup + "/" + res
	}
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	s := r.Verb + " " + res
	if r.Name != "" {
		s += " name=" + r.Name
	}
	if r.Namespace != "" {
		s += " namespace=" + r.Namespace
	} else {
		s += " (no namespace)"
	}
	return s
}

// stats counts what a check compared.
type stats struct {
	decisions int // (user, request) pairs asked of both deciders, per side
	allowed   int // of which the authorizer allowed at head
	gained    int // of which the authorizer allowed at head and not at base
	lost      int // of which the authorizer allowed at base and not at head
	increases int // rbac.increase findings checked
	decreases int // rbac.decrease findings checked
	implied   int // lost requests of verbs no decrease need name (see impliedLoss)
}

func rule(p *report.Permission) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: p.Verbs, APIGroups: p.APIGroups, Resources: p.Resources, ResourceNames: p.ResourceNames, NonResourceURLs: p.NonResourceURLs}
}

// findingCovers reports whether an increase or decrease finding speaks
// for (u, r).
func findingCovers(f report.Finding, u *user.DefaultInfo, r rbac.Request) bool {
	if f.Subject == nil || f.Scope == nil || f.Permission == nil {
		return false
	}
	switch f.Subject.Kind {
	case "ServiceAccount":
		if u.Name != "system:serviceaccount:"+f.Subject.Namespace+":"+f.Subject.Name {
			return false
		}
	case "User":
		if u.Name != f.Subject.Name {
			return false
		}
	case "Group":
		if !slices.Contains(u.Groups, f.Subject.Name) {
			return false
		}
	default:
		return false
	}
	if !f.Scope.Cluster && f.Scope.Namespace != r.Namespace {
		return false
	}
	return rbac.RuleAllows(rule(f.Permission), r)
}

// boundClusterRoles are the ClusterRoles a binding of p references.
func boundClusterRoles(p Policy) map[string]bool {
	out := map[string]bool{}
	for _, b := range p.RoleBindings {
		if b.RoleRef.Kind == "ClusterRole" {
			out[b.RoleRef.Name] = true
		}
	}
	for _, b := range p.ClusterRoleBindings {
		out[b.RoleRef.Name] = true
	}
	return out
}

var builtinClusterRoles = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	for _, r := range append(bootstrappolicy.ClusterRoles(), bootstrappolicy.ControllerRoles()...) {
		out[r.Name] = true
	}
	return out
})

// check runs both properties over one pair and returns every disagreement
// (at most limit of them; 0 means all).
func check(base, head Policy, v *vocabulary, limit int, st *stats) ([]failure, error) {
	return checkOnly(base, head, v, limit, st, "")
}

// checkOnly is check; with only set it checks nothing but the increase or
// decrease finding whose message is only (for minimising an "extra" or
// "extra-decrease" failure).
func checkOnly(base, head Policy, v *vocabulary, limit int, st *stats, only string) ([]failure, error) {
	bs, err := buildSide(base, "base.yaml")
	if err != nil {
		return nil, err
	}
	hs, err := buildSide(head, "head.yaml")
	if err != nil {
		return nil, err
	}
	var out []failure
	full := func() bool { return limit > 0 && len(out) >= limit }
	type pair struct{ u, r int }
	var gained, lost []pair
	users := v.users
	if only != "" {
		users = nil
	}
	for ui, u := range users {
		eu := engineUser(u)
		for ri, r := range v.reqs {
			a := attributes(u, r)
			ob, oh := bs.oracle.Allows(a), hs.oracle.Allows(a)
			if eb := bs.graph.Allows(eu, r); eb != ob {
				out = append(out, failure{kind: "allows-base", user: u, req: r, engine: eb, oracle: ob})
			}
			if eh := hs.graph.Allows(eu, r); eh != oh {
				out = append(out, failure{kind: "allows-head", user: u, req: r, engine: eh, oracle: oh})
			}
			if oh && !ob {
				gained = append(gained, pair{ui, ri})
			}
			if ob && !oh {
				lost = append(lost, pair{ui, ri})
			}
			if st != nil {
				st.decisions++
				if oh {
					st.allowed++
				}
				if oh && !ob {
					st.gained++
				}
				if ob && !oh {
					st.lost++
				}
			}
			if full() {
				return out, nil
			}
		}
	}
	var incs, decs []report.Finding
	for _, f := range rbac.Compare("conformance", bs.graph, hs.graph) {
		switch f.Kind {
		case report.RBACIncrease:
			incs = append(incs, f)
		case report.RBACDecrease:
			decs = append(decs, f)
		}
	}
	// The same two properties hold for what is lost, with the sides
	// swapped: every (user, request) allowed at base and denied at head is
	// covered by a decrease, and every decrease has such a witness.
	bound := boundClusterRoles(head)
	for _, dir := range []struct {
		pairs          []pair
		findings       []report.Finding
		missing, extra string
		before, after  *side
	}{
		{gained, incs, "missing", "extra", bs, hs},
		{lost, decs, "missing-decrease", "extra-decrease", hs, bs},
	} {
		// (b) nothing missing.
		for _, p := range dir.pairs {
			u, r := v.users[p.u], v.reqs[p.r]
			if dir.missing == "missing-decrease" && impliedLoss(u, r, bs, hs) {
				if st != nil {
					st.implied++
				}
				continue
			}
			if !slices.ContainsFunc(dir.findings, func(f report.Finding) bool { return findingCovers(f, u, r) }) {
				out = append(out, failure{kind: dir.missing, user: u, req: r})
				if full() {
					return out, nil
				}
			}
		}
		// (b) nothing extra.
		for i := range dir.findings {
			f := &dir.findings[i]
			if only != "" && f.Message != only {
				continue
			}
			if st != nil {
				if dir.extra == "extra" {
					st.increases++
				} else {
					st.decreases++
				}
			}
			if f.Subject != nil && f.Subject.Kind == "ClusterRole" {
				if !builtinClusterRoles()[f.Subject.Name] && bound[f.Subject.Name] {
					out = append(out, failure{kind: "role-subject", finding: f})
				}
				continue
			}
			if !hasWitness(*f, v, dir.before, dir.after) {
				out = append(out, failure{kind: dir.extra, finding: f})
			}
			if full() {
				return out, nil
			}
		}
	}
	return out, nil
}

// unnamedVerb is a verb no rule and no request of the vocabulary names:
// only a "*" verb matches it.
const unnamedVerb = "zz-unnamed-verb"

// impliedLoss reports whether a request lost between bs and hs is one a
// decrease need not name: its verb is not among those rbac.WildcardVerbs
// spells a "*" out in for its resource (the fresh verb, escalate on pods:
// verbs no Kubernetes component asks about that resource), base granted
// it through a "*" verb, and head still grants the same request with one
// of the spelled-out verbs. That is a "*" narrowed to some verbs: the
// engine then reports the spelled-out verbs head no longer grants, and
// the loss of verbs nobody asks is implied. Everything else lost, a "*"
// lost whole included, must be covered by a decrease.
func impliedLoss(u *user.DefaultInfo, r rbac.Request, bs, hs *side) bool {
	if !r.ResourceRequest {
		return false // a URL's verb is its HTTP method: any verb is real there
	}
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	verbs := rbac.WildcardVerbs(r.APIGroup, res)
	if slices.Contains(verbs, r.Verb) {
		return false
	}
	with := func(verb string) authorizer.AttributesRecord {
		q := r
		q.Verb = verb
		return attributes(u, q)
	}
	if !bs.oracle.Allows(with(unnamedVerb)) {
		return false
	}
	return slices.ContainsFunc(verbs, func(v string) bool { return hs.oracle.Allows(with(v)) })
}

// hasWitness looks for a (user, request) that f covers and that the
// authorizer allows at hs but not at bs (for a decrease, the caller swaps
// the sides), among the vocabulary and the
// concrete requests f's own permission names.
func hasWitness(f report.Finding, v *vocabulary, bs, hs *side) bool {
	seen := map[string]bool{}
	var cands []rbac.Request
	add := func(r rbac.Request) {
		if k := reqKey(r); !seen[k] {
			seen[k] = true
			cands = append(cands, r)
		}
	}
	for _, r := range v.reqs {
		add(r)
	}
	nss := v.namespaces
	if f.Scope != nil && !f.Scope.Cluster {
		nss = []string{f.Scope.Namespace}
	}
	pr := rule(f.Permission)
	requestsFor(pr, nss, add)
	if len(pr.ResourceNames) == 0 && len(pr.NonResourceURLs) == 0 {
		pr.ResourceNames = append(slices.Clone(genNames), nss...)
		requestsFor(pr, nss, add)
	}
	users := v.users
	if f.Subject != nil {
		// The finding may name a subject the graphs do not (one of a
		// built-in binding): ask for it too.
		users = append(slices.Clone(users), usersOf(Policy{ClusterRoleBindings: []*rbacv1.ClusterRoleBinding{{
			Subjects: []rbacv1.Subject{{Kind: f.Subject.Kind, Namespace: f.Subject.Namespace, Name: f.Subject.Name}}}}})...)
	}
	for _, u := range users {
		for _, r := range cands {
			if !findingCovers(f, u, r) {
				continue
			}
			a := attributes(u, r)
			if hs.oracle.Allows(a) && !bs.oracle.Allows(a) {
				return true
			}
		}
	}
	return false
}

// record is the user and request of a failure, kept in a txtar note so
// that the case replays exactly.
type record struct {
	Kind    string            `json:"kind"`
	User    *user.DefaultInfo `json:"user,omitempty"`
	Request *rbac.Request     `json:"request,omitempty"`
}

func (f failure) record() string {
	rec := record{Kind: f.kind, User: f.user}
	if f.user != nil {
		r := f.req
		rec.Request = &r
	}
	j, _ := json.Marshal(rec)
	return string(j)
}

// signature classifies a failure by its shape, so that one example of
// each class is minimised and reported.
func (f failure) signature() string {
	if f.finding != nil {
		p := f.finding.Permission
		if len(p.ResourceNames) > 0 && (p.Verbs[0] == "deletecollection" || p.Verbs[0] == "create" && !strings.Contains(p.Resources[0], "/")) {
			return f.kind + "[named " + p.Verbs[0] + "]" // no request names an object to create or deletecollection
		}
		shape := p.Verbs[0]
		if len(p.NonResourceURLs) > 0 {
			shape += " url"
		} else {
			res, sub, _ := strings.Cut(p.Resources[0], "/")
			if res != "namespaces" && res != "*" {
				res = "R"
			}
			if sub != "" {
				res += "/sub"
			}
			if p.APIGroups[0] == "*" {
				res = "*." + res
			}
			shape += " " + res
			if len(p.ResourceNames) > 0 {
				shape += " named"
			}
		}
		scope := "cluster"
		if f.finding.Scope != nil && !f.finding.Scope.Cluster {
			scope = "namespace"
		}
		return fmt.Sprintf("%s[%s %s %s]", f.kind, f.finding.Subject.Kind, shape, scope)
	}
	r := f.req
	if !r.ResourceRequest {
		return fmt.Sprintf("%s[url engine=%v]", f.kind, f.engine)
	}
	res := "R"
	if r.Resource == "namespaces" {
		res = "namespaces"
	} else if clusterScoped(r.APIGroup, r.Resource) {
		res = "cluster-scoped"
	}
	if r.Subresource != "" {
		res += "/sub"
	}
	shape := r.Verb + " " + res
	if r.Name != "" {
		shape += " named"
	}
	if r.Namespace != "" {
		shape += " in-ns"
	}
	return fmt.Sprintf("%s[%s engine=%v]", f.kind, shape, f.engine)
}
