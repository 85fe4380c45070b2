package token_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/token"
)

func mint(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDetectJWT(t *testing.T) {
	hs := []byte("test-key")
	exp := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	sa := mint(t, jwt.SigningMethodHS256, hs, jwt.MapClaims{"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:a:b"})
	bound := mint(t, jwt.SigningMethodHS256, hs, jwt.MapClaims{"iss": "https://k", "exp": exp.Unix(), "kubernetes.io": map[string]any{"namespace": "a"}})
	idp := mint(t, jwt.SigningMethodHS512, hs, jwt.MapClaims{"iss": "https://idp", "sub": "alice", "aud": []string{"x", "y"}, "exp": exp.Unix()})
	none := mint(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "n"})
	unknownAlg := enc(`{"alg":"XYZ999"}`) + "." + enc(`{"sub":"u"}`) + ".c2ln"
	long := mint(t, jwt.SigningMethodHS256, hs, jwt.MapClaims{"sub": strings.Repeat("s", 200) + "\x07"})
	tests := []struct {
		name string
		in   string
		want []token.JWT
	}{
		{"service account", sa, []token.JWT{{Algorithm: "HS256", Issuer: "kubernetes/serviceaccount", Subject: "system:serviceaccount:a:b", ServiceAccount: true}}},
		{"bound with kubernetes.io claim", "x " + bound + " y", []token.JWT{{Algorithm: "HS256", Issuer: "https://k", Expires: &exp, ServiceAccount: true}}},
		{"bearer header and two tokens", "Authorization: Bearer " + idp + "\n" + sa, []token.JWT{
			{Algorithm: "HS512", Issuer: "https://idp", Subject: "alice", Audience: []string{"x", "y"}, Expires: &exp},
			{Algorithm: "HS256", Issuer: "kubernetes/serviceaccount", Subject: "system:serviceaccount:a:b", ServiceAccount: true}}},
		{"alg none, empty signature", none, []token.JWT{{Algorithm: "none", Subject: "n"}}},
		{"unknown alg still read", unknownAlg, []token.JWT{{Algorithm: "XYZ999", Subject: "u"}}},
		{"long claim clipped, control removed", long, []token.JWT{{Algorithm: "HS256", Subject: strings.Repeat("s", 80) + "…"}}},
		{"no alg", enc(`{"typ":"JWT"}`) + "." + enc(`{"sub":"x"}`) + ".c2ln", nil},
		{"claims not json", enc(`{"alg":"HS256"}`) + "." + enc("nope") + ".c2ln", nil},
		{"versions and hosts", "v1.2.3 api.example.com.internal a.b.c", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := token.DetectJWT(tt.in)
			for i := range got {
				if len(got[i].Fingerprint) != 8 {
					t.Errorf("fingerprint %q: want 8 hex digits", got[i].Fingerprint)
				}
				got[i].Fingerprint = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DetectJWT (-want +got):\n%s", diff)
			}
		})
	}
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestNoSecretLeaks feeds tokens and secret values through Compare and
// Scan and checks that no finding holds any of them, in any field.
func TestNoSecretLeaks(t *testing.T) {
	hs := []byte("leak-test-key")
	saTok := mint(t, jwt.SigningMethodHS256, hs, jwt.MapClaims{"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:payments:api"})
	idpTok := mint(t, jwt.SigningMethodHS256, hs, jwt.MapClaims{"iss": "https://idp.example.com", "sub": "alice", "exp": 1900000000})
	ciTok := mint(t, jwt.SigningMethodHS256, hs, jwt.MapClaims{"iss": "https://ci.example.com", "sub": "deployer"})
	password := "Sup3r-s3cret-passw0rd"
	apiKey := "AKIAEXAMPLEKEY1234567"
	kubeconfig := fmt.Sprintf("apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: %s\n", ciTok)
	std := base64.StdEncoding.EncodeToString
	head := fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: payments
type: Opaque
data:
  sa: %s
  password: %s
stringData:
  idp: %s
  apikey: %s
---
apiVersion: v1
kind: Secret
metadata:
  name: api-token
  namespace: payments
  annotations:
    kubernetes.io/service-account.name: api
type: kubernetes.io/service-account-token
data:
  token: %s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: tools
  namespace: payments
data:
  kubeconfig: %q
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: payments
spec:
  template:
    spec:
      serviceAccountName: api
      containers:
      - name: api
        image: api:1
        env:
        - name: TOKEN
          value: %s
        - name: PASSWORD
          value: %s
`, std([]byte(saTok)), std([]byte(password)), idpTok, apiKey, std([]byte(saTok)), kubeconfig, idpTok, password)
	objs, errs := manifest.Decode("secrets.yaml", []byte(head))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	kc, errs := manifest.Decode("kubeconfig.yaml", []byte(kubeconfig))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	objs = append(objs, kc...)
	opts := token.Options{AccountRisk: func(ns, name string) (report.Severity, string) { return report.High, "can get secrets" }}
	var all []report.Finding
	all = append(all, token.Compare("o", nil, objs, opts)...)
	all = append(all, token.Scan("o", objs, opts)...)
	kinds := map[report.Kind]int{}
	for _, f := range all {
		kinds[f.Kind]++
	}
	if kinds[report.TokenJWTLiteral] < 10 || kinds[report.TokenLegacySecret] != 2 {
		t.Fatalf("the secrets were not all seen: %v", kinds)
	}
	out, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	var forbidden []string
	for _, tok := range []string{saTok, idpTok, ciTok} {
		forbidden = append(forbidden, tok, std([]byte(tok)))
		forbidden = append(forbidden, strings.Split(tok, ".")...) // header too: it is part of the token
	}
	for _, v := range []string{password, apiKey} {
		forbidden = append(forbidden, v, std([]byte(v)))
	}
	for _, s := range forbidden {
		if strings.Contains(string(out), s) {
			t.Errorf("findings hold secret bytes %.12s…", s)
		}
	}
}
