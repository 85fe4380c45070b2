package token

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

// JWT is what a committed token tells without the token itself.
type JWT struct {
	// Fingerprint is the first 8 hex digits of the token's SHA-256: enough
	// to find it again, useless to an attacker.
	Fingerprint string
	Algorithm   string
	Issuer      string
	Subject     string
	Audience    []string
	// Expires is nil for a token without exp: it never expires.
	Expires *time.Time
	// ServiceAccount marks a Kubernetes service-account token: issuer
	// kubernetes/serviceaccount or kubernetes.io claims.
	ServiceAccount bool
}

// jwtShape is three base64url segments; the signature may be empty.
var jwtShape = regexp.MustCompile(`[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// maxScan bounds the text searched for tokens in one value.
const maxScan = 1 << 20

// claimMax bounds a claim shown in a message.
const claimMax = 80

// DetectJWT finds the JWTs in s: JWT-shaped substrings whose header decodes
// to JSON with "alg" and whose claims golang-jwt reads (unverified). The
// result holds no part of any token.
func DetectJWT(s string) []JWT {
	if len(s) > maxScan {
		s = s[:maxScan]
	}
	var out []JWT
	for _, tok := range jwtShape.FindAllString(s, -1) {
		if j, ok := parseJWT(tok); ok {
			out = append(out, j)
		}
	}
	return out
}

func parseJWT(tok string) (JWT, bool) {
	head, _, _ := strings.Cut(tok, ".")
	hb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return JWT{}, false
	}
	var header map[string]any
	if json.Unmarshal(hb, &header) != nil {
		return JWT{}, false
	}
	alg, ok := header["alg"].(string)
	if !ok {
		return JWT{}, false
	}
	claims := jwt.MapClaims{}
	// Unknown algorithms and odd signatures are errors after the claims
	// are read; the claims are what matters here.
	_, _, err = jwt.NewParser().ParseUnverified(tok, claims)
	if err != nil && len(claims) == 0 {
		return JWT{}, false
	}
	sum := sha256.Sum256([]byte(tok))
	j := JWT{Fingerprint: hex.EncodeToString(sum[:])[:8], Algorithm: clip(alg)}
	if iss, err := claims.GetIssuer(); err == nil {
		j.Issuer = clip(iss)
	}
	if sub, err := claims.GetSubject(); err == nil {
		j.Subject = clip(sub)
	}
	if aud, err := claims.GetAudience(); err == nil {
		for _, a := range aud {
			j.Audience = append(j.Audience, clip(a))
		}
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		t := exp.UTC()
		j.Expires = &t
	}
	j.ServiceAccount = j.Issuer == "kubernetes/serviceaccount"
	for k := range claims {
		if k == "kubernetes.io" || strings.HasPrefix(k, "kubernetes.io/") {
			j.ServiceAccount = true
		}
	}
	return j, true
}

// clip keeps a claim printable and short.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if r := []rune(s); len(r) > claimMax {
		s = string(r[:claimMax]) + "…"
	}
	return s
}

func (j JWT) severity() report.Severity {
	if j.ServiceAccount || j.Expires == nil {
		return report.Critical
	}
	return report.High
}

func (j JWT) describe() string {
	var parts []string
	if j.ServiceAccount {
		parts = append(parts, "a Kubernetes service-account token")
	}
	parts = append(parts, "issuer "+orDash(j.Issuer), "subject "+orDash(j.Subject), "audience "+orDash(strings.Join(j.Audience, ",")))
	if j.Expires == nil {
		parts = append(parts, "never expires")
	} else {
		parts = append(parts, "expires "+j.Expires.Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return quote(s)
}

// literal is one JWT found in an object.
type literal struct {
	jwt   JWT
	obj   *manifest.Object
	where string // "key \"token\"", "env TOKEN of container \"app\""
	field []any
}

func (c *checker) literals(s *snapshot) []literal {
	var out []literal
	// One token written twice in one value is one finding.
	seen := map[string]bool{}
	found := func(o *manifest.Object, where string, text string, field ...any) {
		for _, j := range DetectJWT(text) {
			k := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s", j.Fingerprint, o.Kind, o.Namespace, o.Name, where)
			if !seen[k] {
				seen[k] = true
				out = append(out, literal{jwt: j, obj: o, where: where, field: field})
			}
		}
	}
	for _, o := range s.objs {
		if o.Group() != "" {
			continue
		}
		switch o.Kind {
		case "Secret":
			data, _ := o.Get("data").(map[string]any)
			for _, k := range sortedKeys(data) {
				v, _ := data[k].(string)
				dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
				if err != nil {
					continue
				}
				found(o, "data key "+quote(k), string(dec), "data", k)
			}
			sd, _ := o.Get("stringData").(map[string]any)
			for _, k := range sortedKeys(sd) {
				v, _ := sd[k].(string)
				found(o, "stringData key "+quote(k), v, "stringData", k)
			}
		case "ConfigMap":
			data, _ := o.Get("data").(map[string]any)
			for _, k := range sortedKeys(data) {
				v, _ := data[k].(string)
				found(o, "data key "+quote(k), v, "data", k)
			}
			bd, _ := o.Get("binaryData").(map[string]any)
			for _, k := range sortedKeys(bd) {
				v, _ := bd[k].(string)
				if dec, err := base64.StdEncoding.DecodeString(v); err == nil {
					found(o, "binaryData key "+quote(k), string(dec), "binaryData", k)
				}
			}
		case "Config":
			for i, u := range asList(o.Get("users")) {
				user, _ := u["user"].(map[string]any)
				name, _ := u["name"].(string)
				if t, ok := user["token"].(string); ok {
					found(o, "user "+quote(name)+" token", t, "users", i, "user", "token")
				}
				ap, _ := user["auth-provider"].(map[string]any)
				conf, _ := ap["config"].(map[string]any)
				if t, ok := conf["id-token"].(string); ok {
					found(o, "user "+quote(name)+" id-token", t, "users", i, "user", "auth-provider", "config", "id-token")
				}
			}
		}
	}
	for _, w := range s.workloads {
		for _, list := range []string{"initContainers", "containers"} {
			conts, _ := w.PodSpec[list].([]any)
			for ci, cv := range conts {
				cont, _ := cv.(map[string]any)
				cname, _ := cont["name"].(string)
				for ei, e := range asList(cont["env"]) {
					name, _ := e["name"].(string)
					v, _ := e["value"].(string)
					found(w.Object, fmt.Sprintf("env %s of container %q", name, cname), v,
						append(slices.Clip(w.SpecPath), list, ci, "env", ei, "value")...)
				}
			}
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jwtLiterals reports committed JWTs: in a diff those whose fingerprint is
// not anywhere at base (moving a token is not committing a new one).
func (c *checker) jwtLiterals(bs, hs *snapshot, scan bool) {
	seen := map[string]bool{}
	if !scan {
		for _, l := range c.literals(bs) {
			seen[l.jwt.Fingerprint] = true
		}
	}
	for _, l := range c.literals(hs) {
		if seen[l.jwt.Fingerprint] {
			continue
		}
		at := l.obj.LineOf(l.field...)
		ns := l.obj.Namespace
		if ns == "" && l.obj.Kind != "Config" {
			ns = c.o.DefaultNamespace
		}
		name := l.obj.Kind + " " + l.obj.Name
		if ns != "" {
			name = l.obj.Kind + " " + ns + "/" + l.obj.Name
		}
		c.add(report.Finding{
			ID:       id(report.TokenJWTLiteral, c.overlay, l.jwt.Fingerprint, l.obj.Kind, ns, l.obj.Name, l.where),
			Kind:     report.TokenJWTLiteral,
			Severity: l.jwt.severity(),
			Location: loc(at),
			Via:      []report.Ref{ref(l.obj, ns, at, l.where)},
			Message:  fmt.Sprintf("%s %s holds a committed JWT (sha256:%s): %s", name, l.where, l.jwt.Fingerprint, l.jwt.describe()),
			Risk:     "anyone who can read the repository can use this token until it expires; revoke it and rotate the signing key or account",
		})
	}
}
