package githubtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-github/v62/github"
	"github.com/rbacguard/rbacguard/bot/githubtest"
)

const (
	owner   = "acme"
	repo    = "deploy"
	wfToken = "workflow-token-value"
	headSHA = "d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3"
	baseSHA = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0"
)

// rolePatch has two hunks. RIGHT lines: 1-6 and 21-24; LEFT: 1-5, 20-22.
const rolePatch = `@@ -1,5 +1,6 @@
 apiVersion: rbac.authorization.k8s.io/v1
 kind: Role
-metadata: {}
+metadata:
+  name: api
 rules:
 - verbs: [get]
@@ -20,3 +21,4 @@ rules:
 a
 b
+c
 d`

// newFake starts a fake with a workflow token, repo acme/deploy and PR 1
// changing deploy/role.yaml (rolePatch) and a binary file without patch.
func newFake(t *testing.T, opts ...githubtest.Option) (*githubtest.Server, *github.Client) {
	t.Helper()
	s := githubtest.NewServer(t, opts...)
	s.AddToken(wfToken)
	s.AddRepo(owner, repo)
	s.AddPullRequest(owner, repo, githubtest.PullRequest{
		Number: 1, BaseSHA: baseSHA, HeadSHA: headSHA, BaseRef: "main", HeadRef: "feature",
		Files: []githubtest.File{
			{Filename: "deploy/role.yaml", Status: "modified", Patch: rolePatch},
			{Filename: "logo.png", Status: "added"},
		},
	})
	return s, s.Client(wfToken)
}

// status returns the HTTP status of a go-github error, 0 for nil.
func status(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		return er.Response.StatusCode
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		return ab.Response.StatusCode
	}
	t.Fatalf("not a GitHub API error: %v", err)
	return 0
}

// raw sends body as JSON with the client's auth and returns the response.
func raw(t *testing.T, c *github.Client, method, url string, body any) (*github.Response, error) {
	t.Helper()
	req, err := c.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(context.Background(), req, nil)
}

var ctx = context.Background()

func httpStatus(resp *github.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}
