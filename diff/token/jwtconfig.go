package token

import (
	"fmt"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Rules for authn.jwt-config, per JWT authenticator of an
// AuthenticationConfiguration (apiserver.config.k8s.io v1alpha1, v1beta1,
// v1), matched across revisions by issuer.url, then by order:
//
//	change                                                severity
//	new authenticator                                     high
//	issuer.url changes, or is not https                   high
//	claimValidationRules or userValidationRules removed   high
//	  or changed (a changed rule is a removed one)
//	username (or groups) claim mapped with no prefix or   high
//	  prefix "" (claim not "email"), and no userValidationRule
//	  mentions "system:"
//	audiences added                                       medium
//	audienceMatchPolicy changes                           medium
//	username mapping otherwise changes                    medium
//
// Scan: non-https issuers and unprefixed usernames or groups high, one info
// per authenticator for the rest.

type jwtAuth struct {
	index       int
	url         string
	audiences   []string
	policy      string
	claimRules  []string
	userRules   []string
	user, group claimMap
}

type claimMap struct {
	claim, expression string
	prefix            *string
}

func (m claimMap) String() string {
	if m.expression != "" {
		return "expression " + quote(m.expression)
	}
	p := "none"
	if m.prefix != nil {
		p = quote(*m.prefix)
	}
	return fmt.Sprintf("claim %q prefix %s", m.claim, p)
}

// collides says whether values of the claim reach Kubernetes unprefixed,
// so that they can read system:masters or system:node:x.
func (m claimMap) collides(userRules []string) bool {
	if m.claim == "" || m.claim == "email" || m.prefix != nil && *m.prefix != "" {
		return false
	}
	for _, r := range userRules {
		if strings.Contains(r, "system:") {
			return false
		}
	}
	return true
}

func jwtAuths(o *manifest.Object) []jwtAuth {
	list, _ := o.Get("jwt").([]any)
	var out []jwtAuth
	for i, e := range list {
		m, _ := e.(map[string]any)
		if m == nil {
			continue
		}
		a := jwtAuth{index: i}
		iss, _ := m["issuer"].(map[string]any)
		a.url, _ = iss["url"].(string)
		a.audiences = strs(iss["audiences"])
		a.policy, _ = iss["audienceMatchPolicy"].(string)
		for _, r := range asList(m["claimValidationRules"]) {
			a.claimRules = append(a.claimRules, fmt.Sprintf("claim=%v requiredValue=%v expression=%v", r["claim"], r["requiredValue"], r["expression"]))
		}
		for _, r := range asList(m["userValidationRules"]) {
			a.userRules = append(a.userRules, fmt.Sprint(r["expression"]))
		}
		cm, _ := m["claimMappings"].(map[string]any)
		a.user = claimMapOf(cm["username"])
		a.group = claimMapOf(cm["groups"])
		out = append(out, a)
	}
	return out
}

func asList(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func claimMapOf(v any) claimMap {
	m, _ := v.(map[string]any)
	var c claimMap
	c.claim, _ = m["claim"].(string)
	c.expression, _ = m["expression"].(string)
	if p, ok := m["prefix"].(string); ok {
		c.prefix = &p
	}
	return c
}

func (c *checker) jwtConfig(bs, hs *snapshot, scan bool) {
	var base, head []cfg
	for _, cf := range bs.configs {
		if cf.obj.Kind == "AuthenticationConfiguration" {
			base = append(base, cf)
		}
	}
	for _, cf := range hs.configs {
		if cf.obj.Kind == "AuthenticationConfiguration" {
			head = append(head, cf)
		}
	}
	pairs := pairBy(base, head, cfg.ident, func(cfg) string { return "" })
	for i, h := range head {
		var before []jwtAuth
		if pairs[i] != nil {
			before = jwtAuths(pairs[i].obj)
		}
		after := jwtAuths(h.obj)
		matched := matchAuths(before, after)
		for k, a := range after {
			c.compareAuth(h, matched[k], a, scan)
		}
	}
}

// matchAuths pairs authenticators by issuer URL, then the rest in order.
func matchAuths(before, after []jwtAuth) []*jwtAuth {
	return pairBy(before, after, func(a jwtAuth) string { return a.url }, func(jwtAuth) string { return "" })
}

func (c *checker) compareAuth(cf cfg, b *jwtAuth, a jwtAuth, scan bool) {
	o := cf.obj
	emit := func(aspect string, sev report.Severity, at manifest.Location, msg, risk string) {
		c.add(report.Finding{
			ID:       id(report.AuthnJWTConfig, c.overlay, cf.ident(), a.url, aspect),
			Kind:     report.AuthnJWTConfig,
			Severity: sev,
			Location: loc(at),
			Via:      []report.Ref{ref(cf.holder, c.holderNS(cf), at, fmt.Sprintf("jwt[%d]", a.index))},
			Message:  fmt.Sprintf("%s: JWT authenticator %s %s", cf, a.url, msg),
			Risk:     risk,
		})
	}
	line := func(p ...any) manifest.Location { return o.LineOf(append([]any{"jwt", a.index}, p...)...) }
	const forgeRisk = "whoever controls that issuer can sign in to the cluster as any user it names"
	notHTTPS := !strings.HasPrefix(a.url, "https://")
	userCollides := a.user.collides(a.userRules)
	groupCollides := a.group.collides(a.userRules)
	if scan || b == nil {
		if notHTTPS {
			emit("https", report.High, line("issuer", "url"), "is not https", "the discovery document and keys can be forged in transit")
		}
		if userCollides {
			emit("username", report.High, line("claimMappings", "username"), fmt.Sprintf("maps usernames from %s, so they can collide with system: users", a.user), collideRisk)
		}
		if groupCollides {
			emit("groups", report.High, line("claimMappings", "groups"), fmt.Sprintf("maps groups from %s, so they can name system: groups", a.group), collideRisk)
		}
		msg := fmt.Sprintf("accepts audiences %s with %d claim validation rule(s), usernames from %s", strings.Join(a.audiences, ","), len(a.claimRules), a.user)
		switch {
		case scan:
			emit("state", report.Info, line("issuer", "url"), msg, "")
		default:
			emit("new", report.High, line("issuer", "url"), "is new: it "+msg, forgeRisk)
		}
		return
	}
	if b.url != a.url {
		msg := "replaces issuer " + b.url
		if notHTTPS {
			msg += " and is not https"
		}
		emit("url", report.High, line("issuer", "url"), msg, forgeRisk)
	} else if notHTTPS && strings.HasPrefix(b.url, "https://") {
		emit("https", report.High, line("issuer", "url"), "is not https", "the discovery document and keys can be forged in transit")
	}
	if add := missing(a.audiences, b.audiences); len(add) > 0 {
		emit("audiences", report.Medium, line("issuer", "audiences"), "now also accepts tokens for audiences "+strings.Join(add, ", "),
			"tokens the issuer mints for those clients authenticate against this cluster")
	}
	if a.policy != b.policy {
		emit("audienceMatchPolicy", report.Medium, line("issuer", "audienceMatchPolicy"),
			fmt.Sprintf("changes audienceMatchPolicy from %q to %q", b.policy, a.policy), "a looser match accepts tokens minted for other audiences")
	}
	if gone := missing(b.claimRules, a.claimRules); len(gone) > 0 {
		emit("claimValidationRules", report.High, line("claimValidationRules"),
			fmt.Sprintf("drops or changes %d claim validation rule(s)", len(gone)), "tokens the rules used to reject are now accepted")
	}
	if gone := missing(b.userRules, a.userRules); len(gone) > 0 {
		emit("userValidationRules", report.High, line("userValidationRules"),
			fmt.Sprintf("drops or changes %d user validation rule(s)", len(gone)), "users the rules used to reject are now accepted")
	}
	switch {
	case userCollides && !b.user.collides(b.userRules):
		emit("username", report.High, line("claimMappings", "username"), fmt.Sprintf("now maps usernames from %s, so they can collide with system: users", a.user), collideRisk)
	case !equalClaimMap(a.user, b.user):
		emit("username", report.Medium, line("claimMappings", "username"), fmt.Sprintf("maps usernames from %s instead of %s", a.user, b.user),
			"existing RBAC bindings to these users may now match other people")
	}
	if groupCollides && !b.group.collides(b.userRules) {
		emit("groups", report.High, line("claimMappings", "groups"), fmt.Sprintf("now maps groups from %s, so they can name system: groups", a.group), collideRisk)
	}
}

func equalClaimMap(a, b claimMap) bool { return a.String() == b.String() }
