package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v62/github"
)

// Identities the fake assigns to callers, so that tests can recognise their
// own comments and check runs the way the real bots do.
const (
	// ActionsAppID is the github-actions App that owns check runs created
	// with a workflow token.
	ActionsAppID int64 = actionsAppID
	// ActionsBotLogin authors what a workflow token writes.
	ActionsBotLogin = actionsBotLogin
	// AppBotLogin authors what an installation token of the App set with
	// SetApp writes.
	AppBotLogin = "rbacguard[bot]"
	appSlug     = "rbacguard"
)

// principal is who a token acts as.
type principal struct {
	kind     string // "token" or "installation", as logged in Request.Auth
	login    string
	userID   int64
	appID    int64 // 0: a personal token, which may not write checks
	readOnly bool
	repos    map[string]bool // lower-case owner/name; nil = every repository
	expires  time.Time       // zero = never
	install  int64           // the installation of an installation token
}

func (p *principal) canSee(rp *repo) bool {
	return p.repos == nil || p.repos[strings.ToLower(rp.owner+"/"+rp.name)]
}

// userJSON is the author of a comment or review as GitHub shows it: Apps
// and the Actions bot are of type "Bot", whose logins end in "[bot]".
func userJSON(login string) *github.User {
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return &github.User{Login: github.String(login), Type: github.String(typ)}
}

// TokenOption changes what a token added with AddToken may do.
type TokenOption func(*principal)

// AsUser makes the token a person's token (login), like a PAT: it may read,
// comment and review, but not write check runs (only Apps may).
func AsUser(login string) TokenOption {
	return func(p *principal) { p.login, p.appID, p.userID = login, 0, int64(len(login))*1000+7 }
}

// ReadOnly makes every write answer 403 "Resource not accessible by
// integration", like the workflow token of a pull request from a fork.
func ReadOnly() TokenOption { return func(p *principal) { p.readOnly = true } }

// AddToken makes token valid. By default it acts as a workflow token: the
// github-actions App (ActionsAppID) and user ActionsBotLogin, on every
// repository, never expiring.
func (s *Server) AddToken(token string, opts ...TokenOption) {
	p := &principal{kind: "token", login: actionsBotLogin, userID: actionsBotID, appID: actionsAppID}
	for _, o := range opts {
		o(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = p
}

type appConfig struct {
	id  int64
	pub *rsa.PublicKey
}

type installation struct {
	id    int64
	repos []*repo
}

// SetApp configures the GitHub App whose JWTs the fake accepts.
func (s *Server) SetApp(appID int64, pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app = &appConfig{id: appID, pub: pub}
}

// AddInstallation installs the App on owner/repo under installation id;
// calling it again with the same id adds a repository to the installation.
func (s *Server) AddInstallation(id int64, owner, repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installs[id]
	if !ok {
		in = &installation{id: id}
		s.installs[id] = in
	}
	in.repos = append(in.repos, s.repoLocked(owner, repo))
}

// credential returns the scheme and value of the Authorization header.
func credential(r *http.Request) (scheme, value string) {
	scheme, value, _ = strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	return strings.ToLower(scheme), strings.TrimSpace(value)
}

// authKindOf classifies a request's credential for the log when the request
// was not authenticated (fault injected or credential refused).
func authKindOf(r *http.Request) string {
	if _, v := credential(r); v == "" {
		return "none"
	}
	return "invalid"
}

// credentialKind classifies a credential that was not checked (the request
// was answered by a fault): a known live token's kind, "jwt" for anything
// shaped like a JWT, else as authKindOf.
func (s *Server) credentialKind(r *http.Request) string {
	_, v := credential(r)
	s.mu.Lock()
	p, ok := s.tokens[v]
	now := s.now()
	s.mu.Unlock()
	switch {
	case ok && (p.expires.IsZero() || now.Before(p.expires)):
		return p.kind
	case strings.Count(v, ".") == 2:
		return "jwt"
	}
	return authKindOf(r)
}

func (c *call) unauthorized(msg string) {
	c.json(http.StatusUnauthorized, errBody(msg))
}

// checkToken authenticates a token route; it answers 401 itself.
func (s *Server) checkToken(c *call) (*principal, bool) {
	scheme, v := credential(c.r)
	if v == "" || (scheme != "token" && scheme != "bearer") {
		c.unauthorized("Requires authentication")
		return nil, false
	}
	s.mu.Lock()
	p, ok := s.tokens[v]
	now := s.now()
	s.mu.Unlock()
	if !ok || (!p.expires.IsZero() && !now.Before(p.expires)) {
		c.unauthorized("Bad credentials")
		return nil, false
	}
	return p, true
}

// checkJWT authenticates an App route the way GitHub documents App JWTs:
// RS256, iss = app id, integer iat in the past, integer exp in the future but
// no more than 10 minutes ahead, sent as a Bearer credential.
func (s *Server) checkJWT(c *call) bool {
	scheme, v := credential(c.r)
	if v == "" {
		c.unauthorized("Requires authentication")
		return false
	}
	s.mu.Lock()
	app, now := s.app, s.now()
	s.mu.Unlock()
	if scheme != "bearer" || app == nil {
		c.unauthorized("A JSON web token could not be decoded")
		return false
	}
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(v, claims, func(*jwt.Token) (any, error) { return app.pub, nil }); err != nil {
		c.unauthorized("A JSON web token could not be decoded")
		return false
	}
	if iss, ok := claims["iss"]; !ok || fmt.Sprint(iss) != strconv.FormatInt(app.id, 10) {
		c.unauthorized("'Issuer' claim ('iss') must be an Integer")
		return false
	}
	iat, okIat := intClaim(claims["iat"])
	exp, okExp := intClaim(claims["exp"])
	switch {
	case !okIat || iat > now.Unix():
		c.unauthorized("'Issued at' claim ('iat') must be an Integer representing a time in the past")
	case !okExp || exp <= now.Unix():
		c.unauthorized("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case exp > now.Unix()+600:
		// The docs bound exp by now, not by iat: their own example signs
		// iat = now-60 and exp = now+600.
		c.unauthorized("'Expiration time' claim ('exp') is too far in the future")
	default:
		return true
	}
	return false
}

// intClaim accepts only integer NumericDates: GitHub rejects fractional
// ones (ghinstallation truncates for this reason).
func intClaim(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func (s *Server) installationJSON(in *installation) *github.Installation {
	owner := in.repos[0].owner
	return &github.Installation{
		ID:                  github.Int64(in.id),
		AppID:               github.Int64(s.app.id),
		AppSlug:             github.String(appSlug),
		Account:             &github.User{Login: github.String(owner)},
		AccessTokensURL:     github.String(fmt.Sprintf("%sapp/installations/%d/access_tokens", s.URL(), in.id)),
		RepositorySelection: github.String("selected"),
		TargetType:          github.String("Organization"),
		HTMLURL:             github.String(fmt.Sprintf("https://github.com/organizations/%s/settings/installations/%d", owner, in.id)),
	}
}

// GET /repos/{owner}/{repo}/installation
func (s *Server) getRepoInstallation(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := c.repo()
	if rp == nil {
		return
	}
	for _, in := range s.installs {
		for _, r := range in.repos {
			if r == rp {
				c.json(http.StatusOK, s.installationJSON(in))
				return
			}
		}
	}
	c.notFound()
}

// POST /app/installations/{id}/access_tokens
func (s *Server) createAccessToken(c *call) {
	id, ok := c.int64Path("id")
	if !ok {
		return
	}
	var req struct {
		Repositories  []string `json:"repositories"`
		RepositoryIDs []int64  `json:"repository_ids"`
	}
	if len(c.body) > 0 && !c.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installs[id]
	if !ok {
		c.notFound()
		return
	}
	scope := map[string]bool{}
	var repos []*github.Repository
	for _, rp := range in.repos {
		want := len(req.Repositories) == 0 && len(req.RepositoryIDs) == 0
		for _, n := range req.Repositories {
			want = want || strings.EqualFold(n, rp.name)
		}
		for _, n := range req.RepositoryIDs {
			want = want || n == rp.id
		}
		if want {
			scope[strings.ToLower(rp.owner+"/"+rp.name)] = true
			repos = append(repos, &github.Repository{ID: github.Int64(rp.id), Name: github.String(rp.name), FullName: github.String(rp.owner + "/" + rp.name)})
		}
	}
	if len(repos) < len(req.Repositories)+len(req.RepositoryIDs) {
		c.unprocessable("There is at least one repository that does not exist or is not accessible to the parent installation.")
		return
	}
	tok := "ghs_" + rand.Text()
	exp := s.now().Add(time.Hour)
	s.tokens[tok] = &principal{kind: "installation", login: AppBotLogin, userID: 9_000_000 + s.app.id, appID: s.app.id, repos: scope, expires: exp, install: id}
	c.json(http.StatusCreated, &github.InstallationToken{
		Token:     github.String(tok),
		ExpiresAt: ts(exp),
		Permissions: &github.InstallationPermissions{
			Checks: github.String("write"), PullRequests: github.String("write"),
			Contents: github.String("read"), Metadata: github.String("read"),
		},
		Repositories: repos,
	})
}

// GET /app
func (s *Server) getApp(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.json(http.StatusOK, &github.App{ID: github.Int64(s.app.id), Slug: github.String(appSlug), Name: github.String(appSlug)})
}

// GET /app/installations (paginated, oldest first)
func (s *Server) listInstallations(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Sorted(maps.Keys(s.installs))
	lo, hi := c.paginate(len(ids))
	out := []*github.Installation{}
	for _, id := range ids[lo:hi] {
		out = append(out, s.installationJSON(s.installs[id]))
	}
	c.json(http.StatusOK, out)
}

// GET /installation/repositories: the repositories of the installation
// the token belongs to (paginated); other tokens get 403.
func (s *Server) listInstallationRepos(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installs[c.who.install]
	if c.who.install == 0 || in == nil {
		c.json(http.StatusForbidden, errBody("This endpoint requires an installation access token."))
		return
	}
	lo, hi := c.paginate(len(in.repos))
	out := &github.ListRepositories{TotalCount: github.Int(len(in.repos))}
	for _, rp := range in.repos[lo:hi] {
		out.Repositories = append(out.Repositories, &github.Repository{ID: github.Int64(rp.id), Name: github.String(rp.name),
			FullName: github.String(rp.owner + "/" + rp.name), Owner: &github.User{Login: github.String(rp.owner)}})
	}
	c.json(http.StatusOK, out)
}
