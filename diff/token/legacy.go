package token

import (
	"fmt"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

const (
	legacyType       = "kubernetes.io/service-account-token"
	legacyAnnotation = "kubernetes.io/service-account.name"
)

type legacySecret struct {
	obj     *manifest.Object
	ns      string
	account string
}

func (c *checker) legacyIndex(s *snapshot) []legacySecret {
	var out []legacySecret
	for _, o := range s.objs {
		if o.Kind != "Secret" || o.Group() != "" || o.Str("type") != legacyType {
			continue
		}
		ann, _ := o.Get("metadata", "annotations").(map[string]any)
		account, _ := ann[legacyAnnotation].(string)
		if account == "" {
			continue // the token controller fills only annotated Secrets
		}
		out = append(out, legacySecret{obj: o, ns: c.ns(o), account: account})
	}
	return out
}

// legacySecrets reports token Secrets that are new or re-pointed to another
// account. A Secret renamed without changing its account is not new: the
// account already had a never-expiring token.
func (c *checker) legacySecrets(bs, hs *snapshot, scan bool) {
	base := c.legacyIndex(bs)
	head := c.legacyIndex(hs)
	match := pairBy(base, head,
		func(l legacySecret) string { return l.ns + "/" + l.obj.Name },
		func(l legacySecret) string { return l.ns + "/" + l.account })
	for i, h := range head {
		var b legacySecret
		if match[i] != nil {
			b = *match[i]
		}
		repointed := match[i] != nil && b.account != h.account
		if match[i] != nil && !repointed && !scan {
			continue
		}
		sev, _, _ := c.risk(h.ns, h.account)
		f := report.Finding{
			Kind:     report.TokenLegacySecret,
			Severity: report.High,
			Subject:  saSubject(h.ns, h.account),
			Risk:     "the token controller fills this Secret with a token that never expires; whoever can read the Secret holds the account until the Secret is deleted",
		}
		if sev == report.Critical {
			f.Severity = report.Critical
		}
		at := h.obj.LineOf("type")
		subject := fmt.Sprintf("Secret %s/%s", h.ns, h.obj.Name)
		switch {
		case repointed:
			at = h.obj.LineOf("metadata", "annotations", legacyAnnotation)
			f.Message = fmt.Sprintf("%s now holds the never-expiring token of ServiceAccount %s/%s instead of %s", subject, h.ns, h.account, b.account)
		case scan:
			f.Message = fmt.Sprintf("%s is a legacy token Secret of ServiceAccount %s/%s, a credential that never expires", subject, h.ns, h.account)
		default:
			f.Message = fmt.Sprintf("new %s is a legacy token Secret of ServiceAccount %s/%s, a credential that never expires", subject, h.ns, h.account)
		}
		f.Message += "; the account " + c.canDo(h.ns, h.account)
		f.Location = loc(at)
		f.Via = []report.Ref{ref(h.obj, h.ns, at, "")}
		f.ID = id(f.Kind, c.overlay, "secret", h.ns, h.obj.Name, h.account)
		c.add(f)
	}
}
