package token

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// candidates returns the substrings of s that DetectJWT reads as tokens.
func candidates(s string) []string {
	var out []string
	for _, tok := range jwtShape.FindAllString(s, -1) {
		if _, ok := parseJWT(tok); ok {
			out = append(out, tok)
		}
	}
	return out
}

func FuzzDetectJWT(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
	f.Add("Bearer " + b64(`{"alg":"none"}`) + "." + b64(`{"exp":"soon","aud":[1]}`) + ".")
	f.Add(b64(`{"alg":1}`) + "." + b64(`{}`) + ".x")
	f.Add("aaaa.bbbb.cccc.dddd.eeee")
	f.Fuzz(func(t *testing.T, s string) {
		found := DetectJWT(s)
		for _, j := range found {
			if len(j.Fingerprint) != 8 {
				t.Fatalf("fingerprint %q", j.Fingerprint)
			}
			if len(j.Issuer) > 4*81 || len(j.Subject) > 4*81 {
				t.Fatalf("claims not clipped: %d %d", len(j.Issuer), len(j.Subject))
			}
			out, _ := json.Marshal(j)
			for _, tok := range candidates(s) {
				if strings.Contains(string(out), tok) {
					t.Fatalf("result %s holds a token", out)
				}
			}
		}
	})
}
