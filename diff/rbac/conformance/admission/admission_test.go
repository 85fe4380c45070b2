package admission_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/admission"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

var now = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

// fixture is one tree the repository's own tests check: its scan report
// and its rendered objects, by overlay.
type fixture struct {
	name    string
	report  *report.Report
	objects map[string][]*manifest.Object
	ns      string // default namespace
}

func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	files, err := filepath.Glob("../../../../testdata/cases/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	var out []fixture
	for _, file := range files {
		a, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		head := source.NewMem("head", source.DefaultLimits())
		o := diff.DefaultOptions()
		for _, f := range a.Files {
			switch {
			case strings.HasPrefix(f.Name, "head/"):
				if err := head.Add(strings.TrimPrefix(f.Name, "head/"), f.Data); err != nil {
					t.Fatal(err)
				}
			case f.Name == "options":
				for _, line := range strings.Split(string(f.Data), "\n") {
					k, v, _ := strings.Cut(line, ":")
					switch strings.TrimSpace(k) {
					case "defaultNamespace":
						o.DefaultNamespace = strings.TrimSpace(v)
					case "include":
						o.Render.Include = append(o.Render.Include, strings.TrimSpace(v))
					}
				}
			}
		}
		out = append(out, scanFixture(t, strings.TrimSuffix(filepath.Base(file), ".txtar"), head, o))
	}
	example, err := source.Dir("../../../../testdata/example/head", source.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return append(out, scanFixture(t, "example/head", example, diff.DefaultOptions()))
}

func scanFixture(t *testing.T, name string, head source.Tree, o diff.Options) fixture {
	t.Helper()
	r, err := diff.Scan(context.Background(), head, o)
	if err != nil {
		return fixture{name: name, report: &report.Report{}} // a case of bad input: nothing to admit
	}
	fx := fixture{name: name, report: r, objects: map[string][]*manifest.Object{}, ns: o.DefaultNamespace}
	if fx.ns == "" {
		fx.ns = "default"
	}
	pairs, err := render.Plan(source.Empty(""), head, o.Render)
	if err != nil {
		return fx
	}
	render.RenderEach(context.Background(), source.Empty(""), head, pairs, o.Render, func(p render.Rendered) {
		if p.Head != nil {
			fx.objects[p.Path] = p.Head.Objects
		}
	})
	return fx
}

var clusterScoped = map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true, "Namespace": true}

// toAdmit is the object as the API server would hold it at admission:
// namespaced kinds in their namespace.
func toAdmit(o *manifest.Object, defaultNS string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: deepCopy(o.Body).(map[string]any)}
	if !clusterScoped[o.Kind] && u.GetNamespace() == "" {
		u.SetNamespace(defaultNS)
	}
	return u
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	case int:
		return int64(x)
	}
	return v
}

// decodes reports whether the API server could decode obj into its type:
// what it cannot never reaches admission.
func decodes(obj *unstructured.Unstructured) bool {
	typed, err := scheme.Scheme.New(obj.GroupVersionKind())
	if err != nil {
		return false
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, typed, true) == nil
}

type objKey struct{ kind, ns, name string }

func keyOf(u *unstructured.Unstructured) objKey {
	return objKey{u.GetKind(), u.GetNamespace(), u.GetName()}
}

// admitted is one fixture overlay run through the cluster.
type admitted struct {
	objects   map[objKey]*unstructured.Unstructured
	decisions map[objKey]decision
	origin    map[objKey]manifest.Location
}

func admitAll(t *testing.T, c *cluster, fx fixture, overlay string, costs map[string][]int64) admitted {
	t.Helper()
	a := admitted{objects: map[objKey]*unstructured.Unstructured{}, decisions: map[objKey]decision{}, origin: map[objKey]manifest.Location{}}
	for _, o := range fx.objects[overlay] {
		if _, known := resources[o.Kind]; !known {
			continue
		}
		u := toAdmit(o, fx.ns)
		if !decodes(u) {
			continue // the API server refuses it before admission (a badinput case)
		}
		k := keyOf(u)
		a.objects[k], a.origin[k] = u, o.Origin
		a.decisions[k] = c.create(u)
		if costs != nil {
			for name, cost := range c.cost(t, u) {
				costs[name] = append(costs[name], cost)
			}
		}
	}
	return a
}

// candidates are the objects a finding rests on: its chain, its
// workloads and the object at its location.
func (a admitted) candidates(f report.Finding) []objKey {
	var out []objKey
	for _, v := range f.Via {
		out = append(out, objKey{v.Kind, v.Namespace, v.Name})
	}
	for _, w := range f.Workloads {
		out = append(out, objKey{w.Kind, w.Namespace, w.Name})
	}
	best, bestLine := objKey{}, 0
	for k, loc := range a.origin {
		if loc.Path == f.Location.Path && loc.Line <= f.Location.Line && loc.Line > bestLine {
			best, bestLine = k, loc.Line
		}
	}
	if bestLine > 0 {
		out = append(out, best)
	}
	return out
}

// claimed reports whether the export says it decides f on one object:
// a rule with a wildcard, escalate, bind or impersonate; a binding to
// cluster-admin or to a broad group; a legacy token Secret.
func (a admitted) claimed(f report.Finding) bool {
	switch f.Kind {
	case report.TokenLegacySecret:
		return true
	case report.RBACGrant, report.RBACIncrease:
	default:
		return false
	}
	if f.Subject != nil && f.Subject.Kind == "Group" && (slices.Contains(rbac.BroadGroups, f.Subject.Name) || strings.HasPrefix(f.Subject.Name, "system:serviceaccounts:")) {
		return true
	}
	for _, v := range f.Via {
		u := a.objects[objKey{v.Kind, v.Namespace, v.Name}]
		switch {
		case v.Kind == "ClusterRole" && v.Name == "cluster-admin":
			return true
		case u != nil && strings.HasPrefix(v.Field, "rules["):
			i, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(v.Field, "rules["), "]"))
			rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
			if i < len(rules) && selected(rules[i].(map[string]any)) {
				return true
			}
		}
	}
	return false
}

func selected(rule map[string]any) bool {
	has := func(field string, ok func(string) bool) bool {
		vs, _, _ := unstructured.NestedStringSlice(rule, field)
		return slices.ContainsFunc(vs, ok)
	}
	return has("verbs", func(v string) bool { return slices.Contains([]string{"*", "escalate", "bind", "impersonate"}, v) }) ||
		has("apiGroups", func(g string) bool { return g == "*" }) ||
		has("resources", func(r string) bool { return r == "*" || strings.HasPrefix(r, "*/") })
}

// TestAdmission_Fixtures runs the default policy's export through the API
// server's admission code against every case of testdata/cases (head
// tree) and testdata/example/head: every finding the export claims to
// decide on one object, at or above the gate, is denied on one of the
// objects it rests on; no evaluation errors or exceeds the cost limit.
// It logs the numbers of the closing note.
func TestAdmission_Fixtures(t *testing.T) {
	p := policy.Default()
	set := admission.Export(p, now)
	c := newCluster(t, set.Policies, set.Bindings)
	costs := map[string][]int64{}
	var critical, criticalStopped, claimedN, stricter int
	var missed []string
	for _, fx := range loadFixtures(t) {
		overlays := map[string]admitted{}
		for ov := range fx.objects {
			overlays[ov] = admitAll(t, c, fx, ov, costs)
		}
		touched := map[string]map[objKey]bool{}
		for _, f := range fx.report.Findings {
			a, ok := overlays[f.Overlay]
			if !ok || f.Exemption != nil {
				continue
			}
			if touched[f.Overlay] == nil {
				touched[f.Overlay] = map[objKey]bool{}
			}
			cands := a.candidates(f)
			stopped := false
			for _, k := range cands {
				touched[f.Overlay][k] = true
				if isDenied(a.decisions[k].denied) {
					stopped = true
				}
			}
			if f.Severity == report.Critical {
				critical++
				if stopped {
					criticalStopped++
				}
			}
			if f.Severity.AtLeast(p.FailOn) && a.claimed(f) {
				claimedN++
				if !stopped {
					missed = append(missed, fmt.Sprintf("%s: %s %s %s %s", fx.name, f.Severity, f.Kind, f.Subject, f.Message))
				}
			}
		}
		for ov, a := range overlays {
			for k, d := range a.decisions {
				if isDenied(d.denied) && !touched[ov][k] {
					stricter++
					t.Logf("stricter than the CLI: %s: %v denied, the scan reports nothing on it: %v", fx.name, k, d.denied)
				}
			}
		}
	}
	for _, e := range c.errors {
		t.Errorf("not a check's answer: %s", e)
	}
	for _, m := range missed {
		t.Errorf("admission admits what the CLI fails on one object: %s", m)
	}
	if claimedN == 0 {
		t.Fatal("no finding at the gate is decided on one object: the fixtures did not load")
	}
	t.Logf("findings at or above %s decided on one object: %d, all denied", p.FailOn, claimedN-len(missed))
	t.Logf("critical findings stopped at admission: %d of %d (%.0f%%)", criticalStopped, critical, 100*float64(criticalStopped)/float64(max(critical, 1)))
	t.Logf("objects denied that the scan reports nothing on (admission judges the object, not whether it is bound): %d", stricter)
	names := make([]string, 0, len(costs))
	for n := range costs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cs := costs[n]
		slices.Sort(cs)
		t.Logf("cost per evaluation %-45s n=%4d median=%5d max=%5d (per-call limit %d)", n, len(cs), cs[len(cs)/2], cs[len(cs)-1], perCallLimit)
	}
	checks := admission.Checks()
	var kinds []string
	for k := range checks {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("exported checks for %s: %d", k, checks[k])
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
