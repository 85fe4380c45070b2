package githubtest_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"
	"github.com/rbacguard/rbacguard/bot/githubtest"
)

func TestFailNext(t *testing.T) {
	cases := []struct {
		name   string
		status int
		check  func(t *testing.T, err error)
	}{
		{"502 gateway", 502, func(t *testing.T, err error) {
			var er *github.ErrorResponse
			if !errors.As(err, &er) || er.Response.StatusCode != 502 {
				t.Errorf("err = %v", err)
			}
		}},
		{"403 secondary rate limit", 403, func(t *testing.T, err error) {
			var ab *github.AbuseRateLimitError
			if !errors.As(err, &ab) || ab.GetRetryAfter() != time.Second || !strings.Contains(ab.Message, "secondary rate limit") {
				t.Errorf("err = %#v", err)
			}
		}},
		{"429", 429, func(t *testing.T, err error) {
			var er *github.ErrorResponse
			if !errors.As(err, &er) || er.Response.StatusCode != 429 || er.Response.Header.Get("Retry-After") != "1" {
				t.Errorf("err = %v", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newFake(t)
			s.FailNext("GET", "/repos/*/*/pulls/*/files", tc.status, 2)
			for range 2 {
				// A fresh client each time: go-github refuses requests
				// locally for Retry-After after a secondary limit.
				_, _, err := s.Client(wfToken).PullRequests.ListFiles(ctx, owner, repo, 1, nil)
				tc.check(t, err)
			}
			if _, _, err := c.PullRequests.ListFiles(ctx, owner, repo, 1, nil); err != nil {
				t.Errorf("third request: %v", err)
			}
			if _, _, err := c.PullRequests.Get(ctx, owner, repo, 1); err != nil {
				t.Errorf("other route: %v", err)
			}
			var got []string
			for _, r := range s.Requests() {
				got = append(got, fmt.Sprint(r.Status, " ", r.Auth))
			}
			st := fmt.Sprint(tc.status, " token")
			if diff := cmp.Diff([]string{st, st, "200 token", "200 token"}, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
}

// recordingTB records Errorf instead of failing, to test the catch-all.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestUnknownRoutesFailTheTest(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := githubtest.NewServer(rec)
	s.AddToken(wfToken)
	c := s.Client(wfToken)
	base := strings.TrimSuffix(s.URL(), "api-v3/")
	for _, u := range []string{
		s.URL() + "repos/acme/deploy/hooks",         // not a known route
		base + "repos/acme/deploy/pulls/1",          // absolute URL without the prefix
		s.URL() + "/repos/acme/deploy/check-runs/1", // doubled slash
	} {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+wfToken)
		resp, err := c.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.Contains(string(body), `"message":"Not Found"`) {
			t.Errorf("%s: %d %s", u, resp.StatusCode, body)
		}
	}
	if _, err := raw(t, c, "PUT", "repos/acme/deploy/check-runs/1", nil); status(t, err) != 404 {
		t.Errorf("known path, unknown method: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.errs) != 4 {
		t.Errorf("test errors = %q, want 4", rec.errs)
	}
	for _, e := range rec.errs {
		if strings.Contains(e, wfToken) {
			t.Errorf("token leaked into %q", e)
		}
	}
}

func TestRequestLogKeepsNoTokens(t *testing.T) {
	s, c := newFake(t)
	app := installationClient(t, s)
	c.PullRequests.Get(ctx, owner, repo, 1)
	app.PullRequests.Get(ctx, owner, repo, 1)
	s.Client("").PullRequests.Get(ctx, owner, repo, 1)
	s.Client("bogus-secret").PullRequests.Get(ctx, owner, repo, 1)
	c.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{Name: "n", HeadSHA: headSHA})

	var kinds []string
	for _, r := range s.Requests() {
		kinds = append(kinds, r.Method+" "+r.Auth+" "+fmt.Sprint(r.Status))
	}
	want := []string{"POST jwt 201", "GET token 200", "GET installation 200", "GET none 401", "GET invalid 401", "POST token 201"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	dump := fmt.Sprintf("%+v", s.Requests())
	for _, secret := range []string{wfToken, "bogus-secret", "ghs_", "eyJ"} {
		if strings.Contains(dump, secret) {
			t.Errorf("request log contains %q", secret)
		}
	}
	last := s.Requests()[5]
	if last.Path != "/repos/acme/deploy/check-runs" || !strings.Contains(string(last.Body), `"head_sha"`) {
		t.Errorf("last request = %+v", last)
	}
}

func readTar(t *testing.T, data []byte) (global map[string]string, entries map[string]string) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	entries = map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return global, entries
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeXGlobalHeader:
			global = h.PAXRecords
		case tar.TypeDir:
			entries[h.Name] = "<dir>"
		default:
			b, _ := io.ReadAll(tr)
			entries[h.Name] = string(b)
		}
	}
}

func TestTarball(t *testing.T) {
	s, c := newFake(t)
	s.SetTarball(owner, repo, headSHA, map[string]string{"kustomization.yaml": "resources: [base]\n", "base/role.yaml": "kind: Role\n"})
	for _, ref := range []string{headSHA, "feature"} {
		req, _ := c.NewRequest("GET", "repos/acme/deploy/tarball/"+ref, nil)
		var buf bytes.Buffer
		if _, err := c.Do(ctx, req, &buf); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		global, entries := readTar(t, buf.Bytes())
		want := map[string]string{
			"acme-deploy-d4e5f6a/":                   "<dir>",
			"acme-deploy-d4e5f6a/base/":              "<dir>",
			"acme-deploy-d4e5f6a/base/role.yaml":     "kind: Role\n",
			"acme-deploy-d4e5f6a/kustomization.yaml": "resources: [base]\n",
		}
		if diff := cmp.Diff(want, entries); diff != "" {
			t.Errorf("%s entries (-want +got):\n%s", ref, diff)
		}
		if global["comment"] != headSHA {
			t.Errorf("pax global header %v", global)
		}
	}
	if _, err := raw(t, c, "GET", "repos/acme/deploy/tarball/"+baseSHA, nil); status(t, err) != 404 {
		t.Errorf("unknown commit: %v, want 404", err)
	}
}

func TestTarballRedirect(t *testing.T) {
	s, c := newFake(t, githubtest.TarballRedirect())
	now := time.Unix(1_800_000_000, 0)
	s.SetNow(func() time.Time { return now })
	s.SetTarball(owner, repo, headSHA, map[string]string{"a.yaml": "a"})
	link, _, err := c.Repositories.GetArchiveLink(ctx, owner, repo, github.Tarball, &github.RepositoryContentGetOptions{Ref: headSHA}, 0)
	if err != nil {
		t.Fatal(err)
	}
	get := func() int {
		resp, err := http.Get(link.String()) // no Authorization, like codeload
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 {
			if _, entries := readTar(t, b); entries["acme-deploy-d4e5f6a/a.yaml"] != "a" {
				t.Errorf("entries %v", entries)
			}
		}
		return resp.StatusCode
	}
	if got := get(); got != 200 {
		t.Errorf("fresh link: %d", got)
	}
	s.SetNow(func() time.Time { return now.Add(5 * time.Minute) })
	if got := get(); got != 404 {
		t.Errorf("expired link: %d, want 404", got)
	}
	if strings.Contains(fmt.Sprint(s.Requests()), link.Query().Get("token")) {
		t.Error("codeload token in the request log")
	}
}
