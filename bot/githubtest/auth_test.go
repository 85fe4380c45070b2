package githubtest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"
	"github.com/rbacguard/rbacguard/bot/githubtest"
)

const (
	appID  int64 = 4242
	instID int64 = 77
)

// keys are generated once per test binary: RSA generation is the slowest
// step of these tests.
var keys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return a, b
})

func sign(t *testing.T, key *rsa.PrivateKey, method jwt.SigningMethod, claims jwt.MapClaims) string {
	t.Helper()
	var k any = key
	if method == jwt.SigningMethodHS256 {
		k = []byte("shared")
	}
	s, err := jwt.NewWithClaims(method, claims).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func appJWT(t *testing.T, now time.Time) string {
	key, _ := keys()
	return sign(t, key, jwt.SigningMethodRS256, jwt.MapClaims{"iss": appID, "iat": now.Add(-60 * time.Second).Unix(), "exp": now.Add(10 * time.Minute).Unix()})
}

// installationClient configures the App on acme/deploy and returns a
// client holding a fresh installation token.
func installationClient(t *testing.T, s *githubtest.Server) *github.Client {
	t.Helper()
	key, _ := keys()
	s.SetApp(appID, &key.PublicKey)
	s.AddInstallation(instID, owner, repo)
	tok, _, err := s.Client(appJWT(t, time.Now())).Apps.CreateInstallationToken(ctx, instID, nil)
	if err != nil {
		t.Fatalf("create installation token: %v", err)
	}
	return s.Client(tok.GetToken())
}

func TestMissingAndBadCredentials(t *testing.T) {
	s, _ := newFake(t)
	cases := []struct {
		name, header string
		status       int
		message      string
	}{
		{"none", "", 401, "Requires authentication"},
		{"unknown bearer", "Bearer nope", 401, "Bad credentials"},
		{"token scheme", "token " + wfToken, 200, ""},
		{"bearer scheme", "Bearer " + wfToken, 200, ""},
		{"basic scheme", "Basic " + wfToken, 401, "Requires authentication"},
	}
	c := github.NewClient(nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL()+"repos/acme/deploy/pulls/1", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := c.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if er, ok := github.CheckResponse(resp).(*github.ErrorResponse); tc.message != "" && (!ok || er.Message != tc.message) {
				t.Errorf("error %v, want message %q", er, tc.message)
			}
		})
	}
	if _, _, err := s.Client("").PullRequests.Get(ctx, owner, repo, 1); status(t, err) != 401 {
		t.Errorf("empty token: %v", err)
	}
}

func TestAppJWT(t *testing.T) {
	key, other := keys()
	now := time.Unix(1_800_000_000, 0)
	iss := strconv.FormatInt(appID, 10)
	cases := []struct {
		name   string
		jwt    func(t *testing.T) string
		status int
	}{
		{"valid numeric iss", func(t *testing.T) string { return appJWT(t, now) }, 201},
		{"valid string iss, ghinstallation shape", func(t *testing.T) string {
			return sign(t, key, jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(2 * time.Minute).Unix()})
		}, 201},
		{"wrong key", func(t *testing.T) string {
			return sign(t, other, jwt.SigningMethodRS256, jwt.MapClaims{"iss": appID, "iat": now.Unix() - 60, "exp": now.Unix() + 60})
		}, 401},
		{"HS256", func(t *testing.T) string {
			return sign(t, key, jwt.SigningMethodHS256, jwt.MapClaims{"iss": appID, "iat": now.Unix() - 60, "exp": now.Unix() + 60})
		}, 401},
		{"expired", func(t *testing.T) string {
			return sign(t, key, jwt.SigningMethodRS256, jwt.MapClaims{"iss": appID, "iat": now.Unix() - 600, "exp": now.Unix() - 1})
		}, 401},
		{"iat in the future", func(t *testing.T) string {
			return sign(t, key, jwt.SigningMethodRS256, jwt.MapClaims{"iss": appID, "iat": now.Unix() + 30, "exp": now.Unix() + 300})
		}, 401},
		{"exp beyond 10 minutes", func(t *testing.T) string {
			return sign(t, key, jwt.SigningMethodRS256, jwt.MapClaims{"iss": appID, "iat": now.Unix() - 60, "exp": now.Unix() + 601})
		}, 401},
		{"fractional iat", func(t *testing.T) string {
			return sign(t, key, jwt.SigningMethodRS256, jwt.MapClaims{"iss": appID, "iat": float64(now.Unix()) - 59.5, "exp": now.Unix() + 60})
		}, 401},
		{"wrong iss", func(t *testing.T) string {
			return sign(t, key, jwt.SigningMethodRS256, jwt.MapClaims{"iss": appID + 1, "iat": now.Unix() - 60, "exp": now.Unix() + 60})
		}, 401},
		{"missing exp", func(t *testing.T) string {
			return sign(t, key, jwt.SigningMethodRS256, jwt.MapClaims{"iss": appID, "iat": now.Unix() - 60})
		}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := githubtest.NewServer(t)
			s.SetNow(func() time.Time { return now })
			s.SetApp(appID, &key.PublicKey)
			s.AddInstallation(instID, owner, repo)
			tok, resp, err := s.Client(tc.jwt(t)).Apps.CreateInstallationToken(ctx, instID, nil)
			if httpStatus(resp) != tc.status {
				t.Fatalf("status %d, want %d (%v)", httpStatus(resp), tc.status, err)
			}
			if err == nil && (tok.GetToken() == "" || !tok.GetExpiresAt().Time.Equal(now.Add(time.Hour))) {
				t.Errorf("token expires %v, want %v", tok.GetExpiresAt(), now.Add(time.Hour))
			}
		})
	}
}

func TestInstallationTokenLifetimeAndScope(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, _ := newFake(t)
	s.SetNow(clock)
	s.AddRepo(owner, "other")
	key, _ := keys()
	s.SetApp(appID, &key.PublicKey)
	s.AddInstallation(instID, owner, repo)
	jwtClient := s.Client(appJWT(t, now))

	inst, _, err := jwtClient.Apps.FindRepositoryInstallation(ctx, owner, repo)
	if err != nil || inst.GetID() != instID || inst.GetAppID() != appID {
		t.Fatalf("FindRepositoryInstallation = %v, %v", inst, err)
	}
	if _, _, err := jwtClient.Apps.FindRepositoryInstallation(ctx, owner, "other"); status(t, err) != 404 {
		t.Errorf("not installed repo: %v, want 404", err)
	}
	if _, _, err := jwtClient.Apps.CreateInstallationToken(ctx, instID, &github.InstallationTokenOptions{Repositories: []string{"other"}}); status(t, err) != 422 {
		t.Errorf("token for a repo outside the installation: %v, want 422", err)
	}
	tok, _, err := jwtClient.Apps.CreateInstallationToken(ctx, instID, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client(tok.GetToken())
	if _, _, err := c.Apps.FindRepositoryInstallation(ctx, owner, repo); status(t, err) != 401 {
		t.Errorf("installation token on a JWT route: %v, want 401", err)
	}
	if _, _, err := jwtClient.PullRequests.Get(ctx, owner, repo, 1); status(t, err) != 401 {
		t.Errorf("JWT on a token route: %v, want 401", err)
	}
	pr, _, err := c.PullRequests.Get(ctx, owner, repo, 1)
	if err != nil || pr.GetHead().GetSHA() != headSHA {
		t.Fatalf("installation token read: %v, %v", pr, err)
	}
	if _, _, err := c.Checks.ListCheckRunsForRef(ctx, owner, "other", headSHA, nil); status(t, err) != 404 {
		t.Errorf("repository outside the installation: %v, want 404", err)
	}
	cr, _, err := c.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "rbacguard", HeadSHA: headSHA})
	if err != nil || cr.GetApp().GetID() != appID {
		t.Fatalf("App check run: %v, %v", cr, err)
	}
	if rc, _, err := c.Issues.CreateComment(ctx, owner, repo, 1, &github.IssueComment{Body: github.String("hi")}); err != nil || rc.GetUser().GetLogin() != githubtest.AppBotLogin {
		t.Errorf("comment as App: %v, %v", rc, err)
	}

	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if _, _, err := c.PullRequests.Get(ctx, owner, repo, 1); status(t, err) != 401 {
		t.Errorf("expired installation token: %v, want 401", err)
	}
	if _, _, err := jwtClient.Apps.CreateInstallationToken(ctx, instID, nil); status(t, err) != 401 {
		t.Errorf("expired JWT: %v, want 401", err)
	}
}

func TestReadOnlyToken(t *testing.T) {
	s, _ := newFake(t)
	s.AddToken("fork", githubtest.ReadOnly())
	c := s.Client("fork")
	if _, _, err := c.PullRequests.ListFiles(ctx, owner, repo, 1, nil); err != nil {
		t.Errorf("read: %v", err)
	}
	_, _, err := c.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "n", HeadSHA: headSHA})
	if er, ok := err.(*github.ErrorResponse); !ok || er.Response.StatusCode != 403 || er.Message != "Resource not accessible by integration" {
		t.Errorf("write with read-only token: %v", err)
	}
}

// The App will authenticate through ghinstallation; its JWTs and token
// refresh must pass the fake's checks.
func TestGhinstallationInterop(t *testing.T) {
	s, _ := newFake(t)
	key, _ := keys()
	s.SetApp(appID, &key.PublicKey)
	s.AddInstallation(instID, owner, repo)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	tr, err := ghinstallation.New(http.DefaultTransport, appID, instID, pemKey)
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = s.URL()
	c := github.NewClient(&http.Client{Transport: tr})
	c.BaseURL, _ = url.Parse(s.URL())
	for range 2 {
		if _, _, err := c.PullRequests.Get(ctx, owner, repo, 1); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, r := range s.Requests() {
		got = append(got, r.Auth+" "+r.Method+" "+r.Path)
	}
	want := []string{"jwt POST /app/installations/77/access_tokens", "installation GET /repos/acme/deploy/pulls/1", "installation GET /repos/acme/deploy/pulls/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
