package render

import (
	"encoding/json"
	"path"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/source"
	"github.com/rbacguard/rbacguard/diff/workload"
)

// plainOverlays groups the plain manifests (files no kustomization
// includes) of every tree into overlays: one per directory, as a
// repository of plain YAML per cluster (clusters/prod, clusters/staging)
// is laid out, except that directories whose objects need each other are
// one overlay, named by their closest common directory. A directory needs
// another when it binds a role, names a custom resource, or grants to or
// runs pods as a service account that it does not define and the other
// does (a Role or ClusterRole, a CustomResourceDefinition, a
// ServiceAccount); when it grants to an account nobody defines and only
// the other runs pods as it or holds a token Secret for it (or the
// reverse); and when it aggregates ClusterRoles the other labels for it.
// Rendering those apart would hide a grant (a binding whose role is
// elsewhere grants nothing known; a workload apart from its account's
// grants holds a token of unknown power), so doubt joins directories
// rather than splitting them, top-level ones too: a flat repository
// applied with kubectl apply -R keeps roles/, bindings/ and apps/ side by
// side. Directories that need nothing of each other are never joined, and
// what is not deployed (examples/, test/, hack/, vendor/ …: passover.go)
// is not read at all, so an example's binding never joins what a project
// deploys.
//
// A directory whose YAML holds no object in any tree (configs, test
// specs, values files) is not an overlay.
//
// The grouping is computed over all trees at once (base and head of a
// diff), so that an overlay has the same path on both sides; the result
// holds, for each tree, the overlays with the files that tree has.
// decodeBatch is how many files discovery decodes at once.
const decodeBatch = 64

func plainOverlays(files [][]string, trees []source.Tree, cache *manifest.Cache) [][]Overlay {
	var dirs []string
	index := map[string]int{}
	refs := newPlainRefs()
	// manifests are the directories with something to check in some tree:
	// an object, a document that cannot be read, a template. One that
	// holds only other YAML (configs, test specs) is no overlay.
	manifests := map[string]bool{}
	for i, t := range trees {
		// In batches: only the names and references of a file are kept,
		// so a repository's objects are never all decoded at once.
		for from := 0; from < len(files[i]); from += decodeBatch {
			batch := files[i][from:min(from+decodeBatch, len(files[i]))]
			for j, d := range decodeFiles(t, batch, cache) {
				dir := path.Dir(batch[j])
				if _, ok := index[dir]; !ok {
					index[dir] = len(dirs)
					dirs = append(dirs, dir)
				}
				refs.add(index[dir], d.objs)
				if len(d.objs) > 0 || len(d.errs) > 0 || d.template {
					manifests[dir] = true
				}
			}
		}
	}
	groups := newUnionFind(len(dirs))
	refs.link(groups)
	// Overlays are named by the closest directory holding all of theirs;
	// two groups under the same name are one overlay.
	names := map[int]string{}
	for i, d := range dirs {
		r := groups.find(i)
		if n, ok := names[r]; ok {
			names[r] = commonDir(n, d)
		} else {
			names[r] = d
		}
	}
	byName := map[string]int{}
	for i := range dirs {
		n := names[groups.find(i)]
		if j, ok := byName[n]; ok {
			groups.union(i, j)
		} else {
			byName[n] = i
		}
	}
	out := make([][]Overlay, len(trees))
	for ti := range trees {
		members := map[string][]string{}
		for _, f := range files[ti] {
			if !manifests[path.Dir(f)] {
				continue
			}
			n := names[groups.find(index[path.Dir(f)])]
			members[n] = append(members[n], f)
		}
		for _, n := range sortedKeys(members) {
			// The documents decoded here are not kept for Render: held for
			// every overlay of both trees until its turn, they were most of
			// a large repository's memory; the bounded cache serves Render
			// what is still in it.
			ov := Overlay{Path: n, Files: members[n]}
			slices.Sort(ov.Files)
			out[ti] = append(out[ti], ov)
		}
	}
	return out
}

// commonDir is the deepest directory that holds both a and b.
func commonDir(a, b string) string {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] {
		n++
	}
	if n == 0 {
		return "."
	}
	return strings.Join(as[:n], "/")
}

// saUse is how a directory involves a service account.
type saUse uint8

const (
	saDefines saUse = 1 << iota // a ServiceAccount object
	saGrants                    // a binding subject
	saRuns                      // a workload's pods, or a token Secret
)

// nsName is a namespaced name; an empty namespace (an object that leaves it
// to kubectl's context) matches every namespace.
type nsName struct{ ns, name string }

func (a nsName) matches(b nsName) bool {
	return a.name == b.name && (a.ns == b.ns || a.ns == "" || b.ns == "")
}

// plainRefs records, per directory, the names it defines and needs.
type plainRefs struct {
	// roles (by name, then namespace) and clusterRoles: the directories
	// defining each.
	roles        map[string]map[string][]int
	clusterRoles map[string][]int
	// roleRefs: what each directory's bindings name.
	roleRefs map[int][]roleKey
	// accounts: per account, how each directory involves it.
	accounts map[string]map[nsName]map[int]saUse
	// crds: the directories defining each group/plural; resources: the
	// custom group/resources each directory's rules name (a CRD's scope
	// decides what a RoleBinding to them grants).
	crds      map[string][]int
	resources map[int][]string
	// selectors of aggregated ClusterRoles, and labels of ClusterRoles.
	selectors map[int][]labels.Selector
	labelSets map[int][]labels.Set
}

type roleKey struct {
	cluster bool
	nsName
}

func newPlainRefs() *plainRefs {
	return &plainRefs{
		roles: map[string]map[string][]int{}, clusterRoles: map[string][]int{},
		roleRefs: map[int][]roleKey{}, accounts: map[string]map[nsName]map[int]saUse{},
		crds: map[string][]int{}, resources: map[int][]string{},
		selectors: map[int][]labels.Selector{}, labelSets: map[int][]labels.Set{},
	}
}

func (r *plainRefs) account(sa nsName, dir int, use saUse) {
	byNs := r.accounts[sa.name]
	if byNs == nil {
		byNs = map[nsName]map[int]saUse{}
		r.accounts[sa.name] = byNs
	}
	if byNs[sa] == nil {
		byNs[sa] = map[int]saUse{}
	}
	byNs[sa][dir] |= use
}

func (r *plainRefs) add(dir int, objs []*manifest.Object) {
	for _, o := range objs {
		if o.Group() == "rbac.authorization.k8s.io" && (o.Kind == "Role" || o.Kind == "ClusterRole") {
			r.resources[dir] = append(r.resources[dir], customResources(o)...)
		}
		switch o.Group() + "/" + o.Kind {
		case "apiextensions.k8s.io/CustomResourceDefinition":
			k := o.Str("spec", "group") + "/" + o.Str("spec", "names", "plural")
			r.crds[k] = append(r.crds[k], dir)
		case "rbac.authorization.k8s.io/Role":
			if r.roles[o.Name] == nil {
				r.roles[o.Name] = map[string][]int{}
			}
			r.roles[o.Name][o.Namespace] = append(r.roles[o.Name][o.Namespace], dir)
		case "rbac.authorization.k8s.io/ClusterRole":
			r.clusterRoles[o.Name] = append(r.clusterRoles[o.Name], dir)
			r.labelSets[dir] = append(r.labelSets[dir], stringMap(o.Get("metadata", "labels")))
			if sels, ok := o.Get("aggregationRule", "clusterRoleSelectors").([]any); ok {
				for _, s := range sels {
					if sel, ok := selector(s); ok {
						r.selectors[dir] = append(r.selectors[dir], sel)
					}
				}
			}
		case "rbac.authorization.k8s.io/RoleBinding", "rbac.authorization.k8s.io/ClusterRoleBinding":
			name := o.Str("roleRef", "name")
			r.roleRefs[dir] = append(r.roleRefs[dir], roleKey{o.Str("roleRef", "kind") != "Role", nsName{o.Namespace, name}})
			subjects, _ := o.Get("subjects").([]any)
			for _, s := range subjects {
				if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" {
					ns, _ := m["namespace"].(string)
					n, _ := m["name"].(string)
					r.account(nsName{ns, n}, dir, saGrants)
				}
			}
		case "/ServiceAccount":
			r.account(nsName{o.Namespace, o.Name}, dir, saDefines)
		case "/Secret":
			if sa := o.Str("metadata", "annotations", "kubernetes.io/service-account.name"); sa != "" {
				r.account(nsName{o.Namespace, sa}, dir, saRuns)
			}
		}
	}
	for _, w := range workload.Find(objs, "") {
		r.account(nsName{w.Namespace, w.ServiceAccount}, dir, saRuns)
	}
}

// link joins the directories that need each other.
func (r *plainRefs) link(g *unionFind) {
	for dir, keys := range r.roleRefs {
		for _, k := range keys {
			var defs []int
			if k.cluster {
				defs = r.clusterRoles[k.name]
			} else {
				for ns, ds := range r.roles[k.name] {
					if (nsName{ns, k.name}).matches(k.nsName) {
						defs = append(defs, ds...)
					}
				}
			}
			if !slices.Contains(defs, dir) {
				for _, d := range defs {
					g.union(dir, d)
				}
			}
		}
	}
	for dir, res := range r.resources {
		for _, k := range res {
			if defs := r.crds[k]; !slices.Contains(defs, dir) {
				for _, d := range defs {
					g.union(dir, d)
				}
			}
		}
	}
	for _, byNs := range r.accounts {
		for sa, uses := range byNs {
			// Everything that involves this account, across the
			// namespaces an unset one may stand for.
			all := map[int]saUse{}
			for other, ou := range byNs {
				if other.matches(sa) {
					for d, u := range ou {
						all[d] |= u
					}
				}
			}
			// The directories that define, grant to and run as it; each
			// list is joined once, on first need, so that linking stays
			// linear in the directories.
			var with [3][]int
			for d, u := range all {
				for b := range with {
					if u&(1<<b) != 0 {
						with[b] = append(with[b], d)
					}
				}
			}
			var joined [3]bool
			join := func(b, dir int) {
				if len(with[b]) == 0 {
					return
				}
				if !joined[b] {
					for _, d := range with[b][1:] {
						g.union(with[b][0], d)
					}
					joined[b] = true
				}
				g.union(dir, with[b][0])
			}
			for dir := range uses {
				switch u := all[dir]; {
				case u&saDefines != 0:
				case len(with[0]) > 0:
					join(0, dir)
				default:
					if u&saGrants == 0 {
						join(1, dir)
					}
					if u&saRuns == 0 {
						join(2, dir)
					}
				}
			}
		}
	}
	for dir, sels := range r.selectors {
		for other, sets := range r.labelSets {
			if other == dir {
				continue
			}
			for _, set := range sets {
				if slices.ContainsFunc(sels, func(s labels.Selector) bool { return s.Matches(set) }) {
					g.union(dir, other)
				}
			}
		}
	}
}

// customResources lists the group/resource pairs a role's rules name in
// API groups other than the core one, wildcards left out.
func customResources(o *manifest.Object) []string {
	var out []string
	rules, _ := o.Get("rules").([]any)
	for _, rule := range rules {
		m, _ := rule.(map[string]any)
		groups, _ := m["apiGroups"].([]any)
		resources, _ := m["resources"].([]any)
		for _, g := range groups {
			for _, res := range resources {
				gs, _ := g.(string)
				rs, _ := res.(string)
				rs, _, _ = strings.Cut(rs, "/")
				if gs != "" && gs != "*" && rs != "" && rs != "*" {
					out = append(out, gs+"/"+rs)
				}
			}
		}
	}
	return out
}

func stringMap(v any) labels.Set {
	m, _ := v.(map[string]any)
	out := labels.Set{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// selector reads one clusterRoleSelectors entry; an entry that does not
// parse selects nothing here (the engine reports it).
func selector(v any) (labels.Selector, bool) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var ls metav1.LabelSelector
	if json.Unmarshal(data, &ls) != nil {
		return nil, false
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	return sel, err == nil
}

type unionFind struct{ parent []int }

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int, n)}
	for i := range u.parent {
		u.parent[i] = i
	}
	return u
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

// union joins the groups of a and b under the smaller index, so that the
// result does not depend on the order of calls.
func (u *unionFind) union(a, b int) {
	a, b = u.find(a), u.find(b)
	if a == b {
		return
	}
	if b < a {
		a, b = b, a
	}
	u.parent[b] = a
}
