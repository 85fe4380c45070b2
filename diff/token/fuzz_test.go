package token_test

import (
	"testing"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/token"
)

// FuzzCompare feeds arbitrary YAML through the decoders and both modes:
// nothing panics, and a tree compared with itself yields no finding.
func FuzzCompare(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, command: [kube-apiserver, --anonymous-auth]}]}\n"))
	f.Add([]byte("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer: {extraArgs: [{name: a, value: 1}]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: \"kind: AuthenticationConfiguration\\napiVersion: apiserver.config.k8s.io/v1\\njwt: [{issuer: {url: x}}]\"}\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s, annotations: {kubernetes.io/service-account.name: a}}\ntype: kubernetes.io/service-account-token\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		read := func() []*manifest.Object {
			objs, _ := manifest.Decode("f.yaml", data)
			return objs
		}
		head := read()
		token.Scan("o", head, token.Options{})
		if fs := token.Compare("o", read(), head, token.Options{}); len(fs) > 0 {
			t.Fatalf("a tree compared with itself: %d findings, first %s", len(fs), fs[0].Message)
		}
	})
}
