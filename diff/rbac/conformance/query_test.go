package conformance

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

var graphsFlag = flag.Int("graphs", 300, "number of generated graphs TestQueries asks")

// TestQueries holds the query commands' answers to the authorizer on
// generated graphs, for every request of the vocabulary and every user:
//
//   - who-can (Graph.WhoCan), both ways: the authorizer allows a user
//     exactly when a listed subject applies to it (nothing missing), and a
//     member of every listed subject, with only the groups every member
//     has, is allowed (nothing extra);
//   - can-i (Graph.Explain): yes exactly when the authorizer allows, with
//     a chain whenever it says yes;
//   - can-i --list (Graph.RulesFor): the rules listed for the user at the
//     cluster and at the request's namespace allow exactly what the
//     authorizer allows.
//
// "Everyone bound to ClusterRole X" answers name no user and are left
// out: who is bound to X lives outside the graph.
func TestQueries(t *testing.T) {
	seed, n := *seedFlag, *graphsFlag
	if testing.Short() {
		n = 100
	}
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		t.Run(fmt.Sprintf("%d-%d", lo, hi-1), func(t *testing.T) {
			t.Parallel()
			for i := lo; i < hi; i++ {
				// Another stream than TestDifferential's pairs: the
				// second half of the seed's sequence space.
				g := newGen(rand.NewPCG(seed, uint64(1<<32+i)))
				p := g.Generate()
				if i%2 == 1 {
					p, _ = g.Mutate(p)
				}
				s, err := buildSide(p, "graph.yaml")
				if err != nil {
					t.Fatalf("graph %d: %v", i, err)
				}
				v := newVocabulary(p, p, g.r, *maxReqs)
				for _, f := range askAll(s, v) {
					y, _ := p.MarshalYAML()
					t.Errorf("seed %d graph %d (rerun: go test -run TestQueries -seed=%d): %s\ngraph:\n%s", seed, i, seed, f, y)
					break
				}
			}
		})
	}
}

// askAll asks every question of v of one graph and returns the
// disagreements with the authorizer.
func askAll(s *side, v *vocabulary) []string {
	var fails []string
	// can-i --list depends on the user and the namespace only.
	type listKey struct{ user, namespace string }
	listed := map[listKey][]rbacv1.PolicyRule{}
	for _, r := range v.reqs {
		holders := s.graph.WhoCan(r)
		for _, h := range holders {
			if h.Subject.Kind == "ClusterRole" {
				continue
			}
			m, ok := rbac.Member(h.Subject)
			if !ok {
				fails = append(fails, fmt.Sprintf("who-can %s lists %s, which has no member", describe(r), h.Subject))
				continue
			}
			if !s.oracle.Allows(attributes(&user.DefaultInfo{Name: m.Name, Groups: m.Groups}, r)) {
				fails = append(fails, fmt.Sprintf("who-can %s lists %s (via %v), but the authorizer denies its member %s %v", describe(r), h.Subject, h.Via, m.Name, m.Groups))
			}
		}
		for _, u := range v.users {
			want := s.oracle.Allows(attributes(u, r))
			named := slices.ContainsFunc(holders, func(h rbac.Allowance) bool { return appliesTo(h.Subject, u) })
			if named != want {
				fails = append(fails, fmt.Sprintf("who-can %s: user %s %v listed=%v, authorizer allows=%v", describe(r), u.Name, u.Groups, named, want))
			}
			via, yes := s.graph.Explain(engineUser(u), r)
			if yes != want || yes && len(via) == 0 {
				fails = append(fails, fmt.Sprintf("can-i %s as %s %v: %v (via %v), authorizer allows=%v", describe(r), u.Name, u.Groups, yes, via, want))
			}
			rules := listed[listKey{u.Name, r.Namespace}]
			if rules == nil {
				nss := []string{}
				if r.Namespace != "" {
					nss = []string{r.Namespace}
				}
				rules = []rbacv1.PolicyRule{}
				for _, gr := range s.graph.RulesFor(engineUser(u), nss) {
					rules = append(rules, gr.Rule)
				}
				listed[listKey{u.Name, r.Namespace}] = rules
			}
			if got := ruleSetAllows(rules, attributes(u, r)); got != want {
				fails = append(fails, fmt.Sprintf("can-i --list as %s %v: its rules allow %s=%v, authorizer allows=%v", u.Name, u.Groups, describe(r), got, want))
			}
		}
	}
	return fails
}

// appliesTo reports whether a who-can subject names u, as the authorizer
// matches a binding's subject (the subject is normalised: a User spelled
// system:serviceaccount:NS:NAME is the ServiceAccount NS/NAME).
func appliesTo(s report.Subject, u *user.DefaultInfo) bool {
	switch s.Kind {
	case "ServiceAccount":
		return u.Name == "system:serviceaccount:"+s.Namespace+":"+s.Name
	case "User":
		return u.Name == s.Name
	case "Group":
		return slices.Contains(u.Groups, s.Name)
	}
	return false
}
