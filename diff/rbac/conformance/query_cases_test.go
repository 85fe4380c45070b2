package conformance

import (
	"path"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/rbac"
)

// TestQueryCases asks the questions of the main module's query cases
// (testdata/query/*.txtar: kubectl's subject spellings, service account
// groups, aggregation, the namespace object) of the Kubernetes authorizer
// too: every can-i answer must be the authorizer's, and every who-can
// answer must list a subject applying to each identity the case asks
// about exactly when the authorizer allows it, and only subjects whose
// members it allows. The RBAC objects of a case are its rbac*.yaml files.
func TestQueryCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "query", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no query cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var p Policy
			var objs []*manifest.Object
			var ask string
			for _, f := range a.Files {
				switch {
				case f.Name == "ask":
					ask = string(f.Data)
				case strings.HasPrefix(f.Name, "rbac") && path.Ext(f.Name) == ".yaml":
					q, err := parsePolicy(f.Data)
					if err != nil {
						t.Fatalf("%s: %v", f.Name, err)
					}
					p = p.Merge(q)
					o, errs := manifest.Decode(f.Name, f.Data)
					if len(errs) > 0 {
						t.Fatalf("%s: %v", f.Name, errs[0])
					}
					objs = append(objs, o...)
				}
			}
			bp, err := bootstrapPolicy()
			if err != nil {
				t.Fatal(err)
			}
			oracle, err := NewOracle(overlay(bp, p))
			if err != nil {
				t.Fatal(err)
			}
			g := rbac.Build(objs, rbac.Options{})
			// The identities the case asks about, then the requests.
			var ids []*user.DefaultInfo
			var reqs []rbac.Request
			for _, line := range strings.Split(strings.TrimSpace(ask), "\n") {
				id, r, ok := parseQuestion(t, line)
				if !ok {
					continue
				}
				if id != nil {
					ids = append(ids, id)
				}
				reqs = append(reqs, r)
			}
			for _, r := range reqs {
				holders := g.WhoCan(r)
				for _, u := range ids {
					want := oracle.Allows(attributes(u, r))
					if _, yes := g.Explain(engineUser(u), r); yes != want {
						t.Errorf("can-i %s as %s %v: %v, authorizer %v", describe(r), u.Name, u.Groups, yes, want)
					}
					listed := false
					for _, h := range holders {
						listed = listed || appliesTo(h.Subject, u)
					}
					if listed != want {
						t.Errorf("who-can %s: %s %v listed=%v, authorizer %v", describe(r), u.Name, u.Groups, listed, want)
					}
				}
				for _, h := range holders {
					m, ok := rbac.Member(h.Subject)
					if ok && !oracle.Allows(attributes(&user.DefaultInfo{Name: m.Name, Groups: m.Groups}, r)) {
						t.Errorf("who-can %s lists %s, whose member the authorizer denies", describe(r), h.Subject)
					}
				}
			}
		})
	}
}

// parseQuestion reads one line of a case's ask file: the identity (nil
// for who-can) and the request, as the commands read them. Lines the
// commands reject, and can-i --list, ask nothing of the authorizer.
func parseQuestion(t *testing.T, line string) (*user.DefaultInfo, rbac.Request, bool) {
	args := strings.Fields(line)
	// The cases use only these flags, each with a value but --list.
	var ns, name, group, url, as string
	var asGroups, positional []string
	list := false
	for i := 1; i < len(args); i++ {
		val := func() string {
			if i+1 >= len(args) {
				t.Fatalf("%s: %s needs a value", line, args[i])
			}
			i++
			return args[i]
		}
		switch args[i] {
		case "-n", "--namespace":
			ns = val()
		case "--name":
			name = val()
		case "--group":
			group = val()
		case "--url":
			url = val()
		case "--as":
			as = val()
		case "--as-group":
			asGroups = append(asGroups, val())
		case "--list":
			list = true
		default:
			if strings.HasPrefix(args[i], "-") {
				t.Fatalf("%s: flag %s is not known here", line, args[i])
			}
			positional = append(positional, args[i])
		}
	}
	if list {
		return nil, rbac.Request{}, false
	}
	pos := append(positional, "", "")
	res := pos[1]
	if url != "" {
		res = ""
	}
	q, err := query.ParseRequest(pos[0], res, group, ns, name, url)
	if err != nil {
		return nil, rbac.Request{}, false
	}
	r := rbac.Request{Verb: q.Verb, Path: q.URL}
	if q.URL == "" {
		r = rbac.Request{ResourceRequest: true, Verb: q.Verb, APIGroup: q.Group, Resource: q.Resource, Subresource: q.Subresource, Name: q.Name, Namespace: q.Namespace}
	}
	if args[0] != "can-i" {
		return nil, r, true
	}
	id, err := query.ParseIdentity(as, asGroups)
	if err != nil {
		return nil, rbac.Request{}, false
	}
	return &user.DefaultInfo{Name: id.As, Groups: id.Groups}, r, true
}
