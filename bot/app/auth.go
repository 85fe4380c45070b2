package app

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwtv4 "github.com/golang-jwt/jwt/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/bot"
)

// App JWT timing, from GitHub's documentation: "set iat 60 seconds in the
// past to allow for clock drift" and "exp no more than 10 minutes into the
// future". Nine minutes leaves room for a clock that runs slightly fast.
const (
	jwtBackdate = 60 * time.Second
	jwtLifetime = 9 * time.Minute
)

// ParsePrivateKey reads the App's PEM RSA key. The error never quotes the
// key.
func ParsePrivateKey(pem []byte) (*rsa.PrivateKey, error) {
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pem)
	if err != nil {
		// jwt's errors name the failing step only; still, say nothing of
		// the input.
		return nil, errors.New("private key: not a PEM-encoded RSA private key (PKCS #1 or PKCS #8)")
	}
	return key, nil
}

// AppJWT mints the App's JSON Web Token: RS256, iss = app id, integer iat
// backdated 60 s and exp 9 minutes ahead (GitHub refuses fractional times
// and anything over 10 minutes).
func AppJWT(key *rsa.PrivateKey, appID int64, now time.Time) (string, error) {
	now = now.Truncate(time.Second)
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(appID, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-jwtBackdate)),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
}

// signer plugs AppJWT into ghinstallation, whose Signer interface is typed
// on jwt/v4: the claims it proposes (iat −30 s, exp +2 min) are ignored
// and ours are signed with jwt/v5 instead.
type signer struct {
	key   *rsa.PrivateKey
	appID int64
	now   func() time.Time
}

func (s *signer) Sign(jwtv4.Claims) (string, error) { return AppJWT(s.key, s.appID, s.now()) }

// clients hands out GitHub clients: one for the App itself (JWT) and one
// per installation, whose ghinstallation transport caches the token until
// a minute before it expires. A new transport would mint a new token, so
// they are kept for the life of the server (one per installation that
// sent us work: a few hundred bytes each).
type clients struct {
	base    *url.URL
	tr      http.RoundTripper // retries and metrics, below authentication
	apps    *ghinstallation.AppsTransport
	mu      sync.Mutex
	byInst  map[int64]*github.Client
	appOnly *github.Client
}

func newClients(c Config, tr http.RoundTripper) (*clients, error) {
	tr = bot.NewUserAgentTransport(tr, bot.UserAgent(c.Version))
	key, err := ParsePrivateKey(c.PrivateKey)
	if err != nil {
		return nil, err
	}
	base, err := apiURL(c.BaseURL)
	if err != nil {
		return nil, err
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	atr, err := ghinstallation.NewAppsTransportWithOptions(tr, c.AppID, ghinstallation.WithSigner(&signer{key: key, appID: c.AppID, now: now}))
	if err != nil {
		return nil, err
	}
	// ghinstallation trims the trailing slash and appends
	// /app/installations/{id}/access_tokens.
	atr.BaseURL = base.String()
	cl := &clients{base: base, tr: tr, apps: atr, byInst: map[int64]*github.Client{}}
	cl.appOnly = cl.client(atr)
	return cl, nil
}

func (cl *clients) client(tr http.RoundTripper) *github.Client {
	c := github.NewClient(&http.Client{Transport: tr})
	c.BaseURL = cl.base
	c.UploadURL = cl.base
	return c
}

// app is authenticated as the App (JWT): installations, not repositories.
func (cl *clients) app() *github.Client { return cl.appOnly }

// installation is authenticated as installation id.
func (cl *clients) installation(id int64) *github.Client {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if c, ok := cl.byInst[id]; ok {
		return c
	}
	itr := ghinstallation.NewFromAppsTransport(cl.apps, id)
	itr.BaseURL = cl.base.String()
	c := cl.client(itr)
	cl.byInst[id] = c
	return c
}

// download is an unauthenticated client for archive links: the codeload
// URL carries its own short-lived token, and ours must not follow it to
// another host.
func (cl *clients) download() *http.Client { return &http.Client{Transport: cl.tr} }
