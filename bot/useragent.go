package bot

import "net/http"

// UserAgent is how rbacguard names itself to GitHub: "rbacguard/v1.2.3"
// (or "rbacguard/devel (commit 998128f)" for a source build, a product
// and a comment as RFC 9110 allows). GitHub refuses requests without one,
// and an administrator reading the audit log or the rate-limit headers
// sees which release made a call.
func UserAgent(version string) string {
	if version == "" {
		return "rbacguard"
	}
	return "rbacguard/" + version
}

// NewUserAgentTransport sets the User-Agent of every request that passes
// through it, including the ones no *github.Client builds (the
// installation-token requests of ghinstallation).
func NewUserAgentTransport(next http.RoundTripper, userAgent string) http.RoundTripper {
	return userAgentTransport{next: next, ua: userAgent}
}

type userAgentTransport struct {
	next http.RoundTripper
	ua   string
}

func (t userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not change the caller's request.
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", t.ua)
	return t.next.RoundTrip(req)
}
