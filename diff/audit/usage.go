package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Usage compares what the subjects of one overlay are granted with what
// the audit log shows they asked for. Its memory is bounded by the tree
// (one bit per atom of each grant) and by the caps on what it keeps of
// requests (distinct requests per subject, names per rule).
type Usage struct {
	Overlay string
	g       *rbac.Graph
	grants  map[report.Subject][]*grantUse
	// used are the distinct requests each subject of the tree made that
	// were allowed, for suggestions; denied are those refused.
	used, denied map[report.Subject]*requestSet
	everyone     rbac.User
	// budget is how many more distinct requests may be kept in all.
	budget int
	// common remembers requests every authenticated user may make
	// (discovery, self reviews), the most frequent in any log.
	common map[rbac.Request]bool
}

func (us *Usage) everyoneMay(r rbac.Request) bool {
	if ok, known := us.common[r]; known {
		return ok
	}
	ok := us.g.Allows(us.everyone, r)
	if len(us.common) < maxDistinct {
		us.common[r] = ok
	}
	return ok
}

type grantUse struct {
	subject report.Subject
	rbac.RuleGrant
	atoms []rbacv1.PolicyRule
	used  []bool
}

// maxDistinct caps the distinct requests kept per subject, maxTotal
// those kept in all.
const (
	maxDistinct = 10000
	maxTotal    = 1000000
)

type requestSet struct {
	reqs      map[rbac.Request]int
	truncated bool
	budget    *int
}

func (s *requestSet) add(r rbac.Request) {
	if _, ok := s.reqs[r]; !ok {
		if len(s.reqs) >= maxDistinct || *s.budget <= 0 {
			s.truncated = true
			return
		}
		*s.budget--
	}
	s.reqs[r]++
}

// NewUsage prepares the usage of the grants of g's subjects. Without a
// graph it only keeps what each service account and user asked for, for
// Asked.
func NewUsage(overlay string, g *rbac.Graph) *Usage {
	u := &Usage{Overlay: overlay, g: g, grants: map[report.Subject][]*grantUse{},
		used: map[report.Subject]*requestSet{}, denied: map[report.Subject]*requestSet{},
		everyone: rbac.User{Name: "\x00anyone", Groups: []string{"system:authenticated"}}, budget: maxTotal, common: map[rbac.Request]bool{}}
	if g == nil {
		return u
	}
	for _, s := range g.Subjects(true) {
		for _, rg := range g.BoundTo(s) {
			gu := &grantUse{subject: s, RuleGrant: rg, atoms: validation.BreakdownRule(rg.Rule)}
			gu.used = make([]bool, len(gu.atoms))
			u.grants[s] = append(u.grants[s], gu)
		}
	}
	return u
}

// subjectsOf are the subjects of a binding a user is: its own name (a
// service account's user name is the ServiceAccount) and its groups.
func subjectsOf(u rbac.User) []report.Subject {
	var out []report.Subject
	if rest, ok := strings.CutPrefix(u.Name, "system:serviceaccount:"); ok && strings.Count(rest, ":") == 1 {
		ns, name, _ := strings.Cut(rest, ":")
		out = append(out, report.Subject{Kind: "ServiceAccount", Namespace: ns, Name: name})
	} else if u.Name != "" {
		out = append(out, report.Subject{Kind: "User", Name: u.Name})
	}
	for _, g := range u.Groups {
		out = append(out, report.Subject{Kind: "Group", Name: g})
	}
	return out
}

// Observe records one request of user u: every grant of the tree to u's
// name or groups that allows it is used, as the authorizer could have
// used any of them.
func (us *Usage) Observe(u rbac.User, r rbac.Request, denied bool) {
	for i, s := range subjectsOf(u) {
		if us.g == nil {
			m := us.used
			if denied {
				m = us.denied
			}
			if i == 0 {
				us.set(m, s).add(r)
			}
			return
		}
		grants, known := us.grants[s]
		if !known {
			continue
		}
		if denied {
			if i == 0 {
				us.set(us.denied, s).add(r)
			}
			continue
		}
		allowed := false
		for _, gu := range grants {
			if gu.Scope != "" && gu.Scope != r.Namespace {
				continue
			}
			for k, a := range gu.atoms {
				if !gu.used[k] && rbac.RuleAllows(a, r) {
					gu.used[k] = true
				}
			}
			allowed = allowed || rbac.RuleAllows(gu.Rule, r)
		}
		// What the subject needs: its own requests (for a group, the
		// requests its grants allowed), less what everyone may do (asked
		// once per distinct request).
		if i == 0 || allowed {
			set := us.set(us.used, s)
			if _, seen := set.reqs[r]; seen || !us.everyoneMay(r) {
				set.add(r)
			}
		}
	}
}

func (us *Usage) set(m map[report.Subject]*requestSet, s report.Subject) *requestSet {
	if m[s] == nil {
		m[s] = &requestSet{reqs: map[rbac.Request]int{}, budget: &us.budget}
	}
	return m[s]
}

// Window is the time the log covers.
type Window struct {
	First, Last time.Time
}

func (w Window) String() string {
	return w.First.UTC().Format(time.RFC3339) + " and " + w.Last.UTC().Format(time.RFC3339)
}

// Evidence is the usage field of a finding: n requests in the window.
func (w Window) Evidence(n int) *report.Usage {
	return &report.Usage{Requests: n, From: w.First.UTC().Format(time.RFC3339), To: w.Last.UTC().Format(time.RFC3339), Days: w.Days()}
}

// Days is the window's length in whole days, at least 1.
func (w Window) Days() int { return max(1, int(w.Last.Sub(w.First).Hours()/24+0.5)) }

// Findings lists rbac.unused (info) for each grant of which some atom no
// logged request used: the whole rule when nothing of it was used, else
// the verbs and resources that were not.
func (us *Usage) Findings(w Window) []report.Finding {
	var out []report.Finding
	for _, s := range sortedSubjects(us.grants) {
		for _, gu := range us.grants[s] {
			var unused []rbacv1.PolicyRule
			for k, a := range gu.atoms {
				if !gu.used[k] {
					unused = append(unused, a)
				}
			}
			if len(unused) == 0 {
				continue
			}
			perm := report.Permission{Verbs: gu.Rule.Verbs, APIGroups: gu.Rule.APIGroups, Resources: gu.Rule.Resources,
				ResourceNames: orEmpty(gu.Rule.ResourceNames), NonResourceURLs: orEmpty(gu.Rule.NonResourceURLs)}
			what := "never used " + perm.String()
			if len(unused) < len(gu.atoms) {
				var parts []string
				for _, a := range unused[:min(len(unused), maxListed)] {
					parts = append(parts, atomString(a))
				}
				if len(unused) > maxListed {
					parts = append(parts, fmt.Sprintf("and %d more", len(unused)-maxListed))
				}
				what = fmt.Sprintf("used part of %s; never %s", perm.String(), strings.Join(parts, ", "))
			}
			scope := report.Scope{Cluster: gu.Scope == "", Namespace: gu.Scope}
			at := ruleLine(gu.Via)
			subj := s
			out = append(out, report.Finding{
				ID:         report.ID(report.RBACUnused, us.Overlay, s, scope, perm.Key(), chainKey(gu.Via)),
				Kind:       report.RBACUnused,
				Severity:   report.Info,
				Overlay:    us.Overlay,
				Subject:    &subj,
				Scope:      &scope,
				Permission: &perm,
				Via:        gu.Via,
				Location:   at,
				Message:    fmt.Sprintf("%s %s %s between %s (no logged request)", s, what, scope, w),
				Usage:      w.Evidence(0),
			})
		}
	}
	return out
}

// maxListed is how many unused atoms of a rule a message spells out.
const maxListed = 8

func atomString(a rbacv1.PolicyRule) string {
	return report.Permission{Verbs: a.Verbs, APIGroups: a.APIGroups, Resources: a.Resources, ResourceNames: a.ResourceNames, NonResourceURLs: a.NonResourceURLs}.String()
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// chainKey names a chain by its objects and fields, not its lines, so
// that an id survives an edit above the rule.
func chainKey(via []report.Ref) string {
	var b strings.Builder
	for _, r := range via {
		fmt.Fprintf(&b, "%s/%s/%s/%s|", r.Kind, r.Namespace, r.Name, r.Field)
	}
	return b.String()
}

// ruleLine is the line of the rule at the end of a chain.
func ruleLine(via []report.Ref) report.Location {
	for i := len(via) - 1; i >= 0; i-- {
		if via[i].Path != "" {
			return report.Location{Path: via[i].Path, Line: via[i].Line}
		}
	}
	return report.Location{}
}

func sortedSubjects[V any](m map[report.Subject]V) []report.Subject {
	var out []report.Subject
	for s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b report.Subject) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}

// Denied is one request the authorizer refused a subject of the tree.
type Denied struct {
	Subject report.Subject
	Request string // "get secrets named x in namespace shop"
	Count   int
}

// Denials lists the refused requests of the tree's subjects.
func (us *Usage) Denials() []Denied {
	var out []Denied
	for _, s := range sortedSubjects(us.denied) {
		var ds []Denied
		for r, n := range us.denied[s].reqs {
			ds = append(ds, Denied{Subject: s, Request: describe(r), Count: n})
		}
		slices.SortFunc(ds, func(a, b Denied) int { return strings.Compare(a.Request, b.Request) })
		out = append(out, ds...)
	}
	return out
}

func describe(r rbac.Request) string {
	s := requestName(r)
	if r.Name != "" {
		s += " named " + r.Name
	}
	if r.Namespace != "" {
		s += " in namespace " + r.Namespace
	}
	return s
}

// requestName reads a request as RBAC rules are written: "get secrets",
// "create serviceaccounts/token", "get /metrics".
func requestName(r rbac.Request) string {
	if !r.ResourceRequest {
		return report.Permission{Verbs: []string{r.Verb}, NonResourceURLs: []string{r.Path}}.String()
	}
	return permissionOf([]string{r.Verb}, r).String()
}
