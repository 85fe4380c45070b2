package query

import (
	"slices"
	"testing"

	"github.com/rbacguard/rbacguard/diff/report"
)

func subjects(ov WhoCanOverlay, builtins bool) []string {
	var out []string
	for _, h := range ov.Subjects {
		if builtins || !h.Builtin {
			out = append(out, h.Subject.String())
		}
	}
	return out
}

func TestWhoCan_AllNamespaces(t *testing.T) {
	ov := objects(t, "rbac.yaml", repoYAML)
	r := Request{Verb: "get", Resource: "secrets"}
	if got := subjects(WhoCan(ov, r, Options{}), false); len(got) != 0 {
		t.Errorf("cluster-wide: %v, want nobody but built-ins", got)
	}
	r.AllNamespaces = true
	ans := WhoCan(ov, r, Options{})
	if got := subjects(ans, false); !slices.Equal(got, []string{"ServiceAccount shop/checkout"}) {
		t.Fatalf("-A: %v, want the account its RoleBinding reaches in shop", got)
	}
	var h Holder
	for _, x := range ans.Subjects {
		if !x.Builtin {
			h = x
		}
	}
	if len(h.Ways) != 1 || h.Ways[0].Scope != (report.Scope{Namespace: "shop"}) {
		t.Errorf("-A ways: %+v, want one in namespace shop", h.Ways)
	}
	if !slices.Contains(subjects(ans, true), "Group system:masters") {
		t.Errorf("-A keeps the cluster-wide subjects: %v", subjects(ans, true))
	}
}

func TestNewlyCan_NeverABuiltin(t *testing.T) {
	ov := objects(t, "rbac.yaml", repoYAML)
	r := Request{Verb: "get", Resource: "secrets", Namespace: "shop"}
	got := subjects(NewlyCan(nil, ov, r, Options{}), true)
	if !slices.Equal(got, []string{"ServiceAccount shop/checkout"}) {
		t.Errorf("an added overlay: %v, want only the repository's subject", got)
	}
	if got := subjects(NewlyCan(&ov, ov, r, Options{}), true); len(got) != 0 {
		t.Errorf("unchanged: %v, want nobody", got)
	}
}

func TestLanded(t *testing.T) {
	ov := objects(t, "rbac.yaml", `
apiVersion: v1
kind: ServiceAccount
metadata: {name: app}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: app}
`)
	if l := landed(ov.Objects, "argocd", Options{}); l == nil || *l != (Landed{Objects: 1, Namespace: "default"}) {
		t.Errorf("landed = %+v, want 1 object in default", l)
	}
	if l := landed(ov.Objects, "argocd", Options{DefaultNamespace: "argocd"}); l != nil {
		t.Errorf("with --default-namespace argocd: %+v, want none", l)
	}
	if l := landed(objects(t, "rbac.yaml", repoYAML).Objects, "argocd", Options{}); l != nil {
		t.Errorf("objects that name their namespace: %+v, want none", l)
	}
}
