package remote_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rbacguard/rbacguard/diff/remote"
	"github.com/rbacguard/rbacguard/diff/remote/remotetest"
)

var chartFiles = map[string]string{"templates/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {{ .Release.Name }}\n"}

// counting is a Handle that counts in n the requests whose path match
// accepts, and leaves them to the server.
func counting(n *atomic.Int64, match func(path string) bool) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if match(r.URL.Path) {
			n.Add(1)
		}
		return false
	}
}

// A pinned version is fetched through the index, by an absolute or a
// relative URL, with or without a "v", its digest checked; the index is
// asked once however many charts of the repository are fetched at once.
func TestChart_Repo(t *testing.T) {
	c := remotetest.NewChartRepo(t)
	c.AddChart("demo", "1.2.3", chartFiles)
	c.AddChart("demo", "v2.0.0", chartFiles)
	abs := c.AddChart("other", "0.1.0", chartFiles)
	abs.URLs = []string{c.URL + "/charts/other-0.1.0.tgz?token=secret"}
	c.WriteIndex()
	var indexAsked atomic.Int64
	c.Handle = counting(&indexAsked, func(p string) bool { return p == "/charts/index.yaml" })
	f := remote.New(c.Options("127.0.0.1"))
	cases := []struct{ name, version, want, file string }{
		{"demo", "1.2.3", "1.2.3", "demo-1.2.3.tgz"},
		{"demo", "v1.2.3", "1.2.3", "demo-1.2.3.tgz"},
		{"demo", "2.0.0", "v2.0.0", "demo-v2.0.0.tgz"},
		{"demo", "v2.0.0", "v2.0.0", "demo-v2.0.0.tgz"},
		{"other", "0.1.0", "0.1.0", "other-0.1.0.tgz"},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		wg.Go(func() {
			ref := remote.ChartRef{Repo: c.RepoURL(), Name: tc.name, Version: tc.version}
			got, err := f.Chart(context.Background(), ref)
			if err != nil {
				t.Errorf("%v: %v", ref, err)
				return
			}
			archive := c.Files["/charts/"+tc.file]
			if !got.Pinned || got.Version != tc.want || got.Digest != remotetest.Digest(archive) || !bytes.Equal(got.Archive, archive) {
				t.Errorf("%v: got pinned=%v version=%q digest=%s, want version %q and %s", ref, got.Pinned, got.Version, got.Digest, tc.want, tc.file)
			}
			if got.URL != c.URL+"/charts/"+tc.file {
				t.Errorf("%v: URL = %q, want it without query", ref, got.URL)
			}
		})
	}
	wg.Wait()
	if n := indexAsked.Load(); n != 1 {
		t.Errorf("the index was asked %d times, want once", n)
	}
}

// A version that is not pinned is reported, not fetched: no request at all.
func TestChart_Unpinned(t *testing.T) {
	c := remotetest.NewChartRepo(t)
	c.AddChart("demo", "1.2.3", chartFiles)
	reg := remotetest.NewRegistry(t)
	for _, repo := range []string{c.RepoURL(), reg.RepoURL("charts")} {
		f := remote.New(c.Options("127.0.0.1"))
		for _, v := range []string{"", "^1.2", "~1.2", ">=1.0", "1.x", "1.2", "latest", "1.2.*", "1.2.3 || 2.0.0", "sha256:abc"} {
			got, err := f.Chart(context.Background(), remote.ChartRef{Repo: repo, Name: "demo", Version: v})
			if err != nil || got.Pinned || got.Archive != nil {
				t.Errorf("%s version %q: %+v, %v; want unpinned without error", repo, v, got, err)
			}
		}
	}
	if n := c.Requests.Load() + reg.Requests.Load(); n != 0 {
		t.Errorf("%d requests for charts not pinned, want none", n)
	}
}

// What cannot be trusted is refused, saying what to do; nothing is fetched
// from a host not allowed.
func TestChart_RepoRefused(t *testing.T) {
	redirect := func(from, to string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != from {
				return false
			}
			http.Redirect(w, r, to, http.StatusFound)
			return true
		}
	}
	for _, tc := range []struct {
		name    string
		repo    string // "" is the local repository
		version string
		allow   []string
		setup   func(c *remotetest.ChartRepo, o *remote.Options)
		want    string
		denied  bool // errors.Is(err, remote.ErrNotAllowed)
	}{
		{name: "version not found", version: "9.9.9", want: "no such version in the repository index (the index has 1.2.3, v2.0.0)"},
		{name: "chart not found", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) { delete(c.Entries, "demo"); c.WriteIndex() },
			want: "no chart of that name"},
		{name: "digest mismatch", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			c.Files["/charts/demo-1.2.3.tgz"] = remotetest.ChartArchive("demo", "1.2.3", map[string]string{"templates/role.yaml": "kind: ClusterRole\n"})
		}, want: "the index says sha256:"},
		{name: "digest not a sha256", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			c.Entries["demo"][0].Digest = "md5:abc"
			c.WriteIndex()
		}, want: "not a sha256"},
		{name: "index over the limit", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			c.Handle = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Length", strconv.Itoa(64<<20+1))
				w.WriteHeader(http.StatusOK)
				return true
			}
		}, want: "over the 67108864-byte limit"},
		{name: "index a YAML bomb", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			// 1,000 entries of 1,000 URLs each from a 10 KB index
			urls := "u: &u [" + strings.Repeat("*s, ", 1000) + "]\n"
			c.Files["/charts/index.yaml"] = []byte("s: &s x\n" + urls + "e: &e {version: '9', urls: *u}\nentries: {demo: [" + strings.Repeat("*e, ", 1000) + "]}\n")
		}, want: "excessive aliasing"},
		{name: "no index", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) { delete(c.Files, "/charts/index.yaml") },
			want: "has no index.yaml (HTTP 404)"},
		{name: "archive gone", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) { delete(c.Files, "/charts/demo-1.2.3.tgz") },
			want: "is not there (HTTP 404)"},
		{name: "index redirected to a host not allowed", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			c.Handle = redirect("/charts/index.yaml", "https://169.254.169.254/latest/meta-data")
		}, want: "host not allowed"},
		{name: "archive redirected to loopback by another name", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(c.URL, "https://"))
			c.Handle = redirect("/charts/demo-1.2.3.tgz", "https://localhost:"+port+"/charts/demo-1.2.3.tgz")
		}, want: "host not allowed"},
		{name: "archive redirected to a private address", version: "1.2.3", allow: []string{"*"}, setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			c.Handle = redirect("/charts/demo-1.2.3.tgz", "https://10.0.0.1/demo-1.2.3.tgz")
		}, want: "refusing to connect to 10.0.0.1"},
		{name: "archive redirected to http", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			c.Handle = redirect("/charts/demo-1.2.3.tgz", "http://127.0.0.1/demo-1.2.3.tgz")
		}, want: "only https"},
		{name: "loopback not allowed", version: "1.2.3", allow: []string{}, setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			o.Prefixes, o.AllowLoopback = []string{c.RepoURL()}, false
		}, want: "refusing to connect to 127.0.0.1"},
		{name: "archive on another host", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			c.Entries["demo"][0].URLs = []string{"https://charts.elsewhere.example/demo-1.2.3.tgz"}
			c.WriteIndex()
		}, want: "neither the repository's host", denied: true},
		{name: "archive over http", version: "1.2.3", setup: func(c *remotetest.ChartRepo, o *remote.Options) {
			c.Entries["demo"][0].URLs = []string{"http://127.0.0.1/demo-1.2.3.tgz"}
			c.WriteIndex()
		}, want: "only https archives"},
		{name: "http repository", repo: "http://127.0.0.1/charts", version: "1.2.3", want: "only https:// and oci://", denied: true},
		{name: "file repository", repo: "file:///etc/charts", version: "1.2.3", want: "only https:// and oci://", denied: true},
		{name: "credentials in the repository", repo: "https://user:pa55@127.0.0.1/charts", version: "1.2.3", want: "no credentials"},
		{name: "dot-dot in the repository", repo: "https://127.0.0.1/charts/../other", version: "1.2.3", want: "no credentials, query or . and .."},
		{name: "repository not allowed", version: "1.2.3", allow: []string{"charts.example.com"}, want: "add 127.0.0.1/charts to the policy's remote.allow", denied: true},
		{name: "digest version", version: "sha256:" + strings.Repeat("a", 64), want: "OCI registries only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := remotetest.NewChartRepo(t)
			c.AddChart("demo", "1.2.3", chartFiles)
			c.AddChart("demo", "v2.0.0", chartFiles)
			allow := []string{"127.0.0.1"}
			if tc.allow != nil {
				allow = tc.allow
			}
			o := c.Options(allow...)
			if tc.setup != nil {
				tc.setup(c, &o)
			}
			repo := c.RepoURL()
			if tc.repo != "" {
				repo = tc.repo
			}
			got, err := remote.New(o).Chart(context.Background(), remote.ChartRef{Repo: repo, Name: "demo", Version: tc.version})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %+v, %v; want an error saying %q", got, err, tc.want)
			}
			if errors.Is(err, remote.ErrNotAllowed) != tc.denied {
				t.Errorf("errors.Is(%v, ErrNotAllowed) = %v, want %v", err, !tc.denied, tc.denied)
			}
			if !strings.Contains(err.Error(), "chart demo "+tc.version) || strings.Contains(err.Error(), "pa55") {
				t.Errorf("error %q does not name the chart, or shows a credential", err)
			}
		})
	}
}

// ChartAllowed matches the policy's globs against host/path/name, and URL
// prefixes against the repository URL.
func TestChartAllowed(t *testing.T) {
	for _, tc := range []struct {
		repo, name string
		allow      []string
		prefixes   []string
		want       bool
	}{
		{"https://charts.jetstack.io", "cert-manager", []string{"charts.jetstack.io"}, nil, true},
		{"https://charts.jetstack.io/", "cert-manager", []string{"charts.jetstack.io/cert-manager"}, nil, true},
		{"https://charts.jetstack.io", "cert-manager", []string{"charts.jetstack.io/other"}, nil, false},
		{"https://charts.jetstack.io", "cert-manager", []string{"*.jetstack.io"}, nil, true},
		{"https://charts.jetstack.io.evil.example", "cert-manager", []string{"charts.jetstack.io"}, nil, false},
		{"oci://ghcr.io/fluxcd/charts", "flux", []string{"ghcr.io/fluxcd"}, nil, true},
		{"oci://ghcr.io/fluxcd-evil/charts", "flux", []string{"ghcr.io/fluxcd"}, nil, false},
		{"oci://ghcr.io/fluxcd/charts", "flux", nil, []string{"oci://ghcr.io/fluxcd/"}, true},
		{"oci://ghcr.io/fluxcd/charts", "flux", nil, []string{"oci://ghcr.io/flux"}, false},
		{"http://charts.jetstack.io", "cert-manager", []string{"charts.jetstack.io"}, []string{"http://charts.jetstack.io"}, false},
		{"https://charts.jetstack.io", "../cert-manager", []string{"charts.jetstack.io"}, nil, false},
		{"https://charts.jetstack.io", "cert-manager", nil, nil, false},
	} {
		f := remote.New(remote.Options{Allow: tc.allow, Prefixes: tc.prefixes})
		if got := f.ChartAllowed(remote.ChartRef{Repo: tc.repo, Name: tc.name, Version: "1.0.0"}); got != tc.want {
			t.Errorf("ChartAllowed(%s %s) with allow %q, prefixes %q = %v, want %v", tc.repo, tc.name, tc.allow, tc.prefixes, got, tc.want)
		}
	}
}

// An archive fetched once is kept by digest: a second run asks the index
// (a version can move) but not the archive; a damaged cached copy is
// fetched again.
func TestChart_Cache(t *testing.T) {
	c := remotetest.NewChartRepo(t)
	c.AddChart("demo", "1.2.3", chartFiles)
	var archives atomic.Int64
	c.Handle = counting(&archives, func(p string) bool { return strings.HasSuffix(p, ".tgz") })
	o := c.Options("127.0.0.1")
	o.CacheDir = t.TempDir()
	ref := remote.ChartRef{Repo: c.RepoURL(), Name: "demo", Version: "1.2.3"}
	for run := range 2 {
		got, err := remote.New(o).Chart(context.Background(), ref)
		if err != nil || !bytes.Equal(got.Archive, c.Files["/charts/demo-1.2.3.tgz"]) {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	if n := archives.Load(); n != 1 {
		t.Errorf("the archive was fetched %d times over two runs with a cache, want once", n)
	}
}

func TestChart_OCI(t *testing.T) {
	reg := remotetest.NewRegistry(t)
	archive := remotetest.ChartArchive("demo", "1.2.3", chartFiles)
	manifest := reg.PushChart(t, "charts/demo", "demo", "1.2.3", archive)
	build := remotetest.ChartArchive("demo", "1.2.3+build", chartFiles)
	reg.PushChart(t, "charts/demo", "demo", "1.2.3+build", build)
	var tokens atomic.Int64
	reg.Handle = counting(&tokens, func(p string) bool { return p == "/token" })
	f := remote.New(reg.Options("127.0.0.1"))
	for _, tc := range []struct {
		version, want string
		archive       []byte
	}{
		{"1.2.3", "1.2.3", archive},
		{"v1.2.3", "1.2.3", archive},
		{manifest, "1.2.3", archive},
		{"1.2.3+build", "1.2.3+build", build},
	} {
		got, err := f.Chart(context.Background(), remote.ChartRef{Repo: reg.RepoURL("charts"), Name: "demo", Version: tc.version})
		if err != nil {
			t.Errorf("%s: %v", tc.version, err)
			continue
		}
		if !got.Pinned || got.Version != tc.want || got.Digest != remotetest.Digest(tc.archive) || !bytes.Equal(got.Archive, tc.archive) {
			t.Errorf("%s: got pinned=%v version=%q digest=%s, want %q %s", tc.version, got.Pinned, got.Version, got.Digest, tc.want, remotetest.Digest(tc.archive))
		}
		if want := reg.RepoURL("charts") + "/demo@" + got.Digest; got.URL != want {
			t.Errorf("%s: URL = %q, want %q", tc.version, got.URL, want)
		}
	}
	if n := tokens.Load(); n != 1 {
		t.Errorf("the realm was asked for %d tokens, want one for the run", n)
	}
}

// A blob a registry sends to its CDN is fetched from there without the
// registry's token, though the CDN has the same host name on another port.
func TestChart_OCIBlobRedirect(t *testing.T) {
	reg := remotetest.NewRegistry(t)
	reg.RedirectBlobs(t)
	archive := remotetest.ChartArchive("demo", "1.2.3", chartFiles)
	reg.PushChart(t, "charts/demo", "demo", "1.2.3", archive)
	got, err := remote.New(reg.Options("127.0.0.1")).Chart(context.Background(), remote.ChartRef{Repo: reg.RepoURL("charts"), Name: "demo", Version: "1.2.3"})
	if err != nil || !bytes.Equal(got.Archive, archive) {
		t.Fatalf("got %v, %v", got, err)
	}
	if auth := reg.CDNAuthorization(); len(auth) != 1 || auth[0] != "" {
		t.Errorf("the CDN received Authorization %q, want one request without", auth)
	}
}

func TestChart_OCIRefused(t *testing.T) {
	answer := func(match string, fn func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, match) {
				return false
			}
			fn(w, r)
			return true
		}
	}
	for _, tc := range []struct {
		name, version string
		handle        func(w http.ResponseWriter, r *http.Request) bool
		want          string
	}{
		{name: "tag not found", version: "9.9.9", want: "tag 9.9.9 or v9.9.9 not found"},
		{name: "digest not found", version: "sha256:" + strings.Repeat("a", 64), want: "not found"},
		{name: "manifest of another digest", version: "sha256:" + strings.Repeat("c", 64), handle: answer("/manifests/", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"schemaVersion":2}`))
		}), want: "a manifest of another digest"},
		{name: "blob altered", version: "1.2.3", handle: answer("/blobs/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("altered")) }),
			want: "the manifest says sha256:"},
		{name: "blob redirected to a private address", version: "1.2.3", handle: answer("/blobs/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://10.0.0.1/blob", http.StatusTemporaryRedirect)
		}), want: "refusing to connect to 10.0.0.1"},
		{name: "blob redirected to http", version: "1.2.3", handle: answer("/blobs/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://cdn.example.com/blob", http.StatusTemporaryRedirect)
		}), want: "only https"},
		{name: "realm over http", version: "1.2.3", handle: answer("/manifests/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="x"`)
			w.WriteHeader(http.StatusUnauthorized)
		}), want: "not an https URL"},
		{name: "credentials asked", version: "1.2.3", handle: answer("/manifests/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.WriteHeader(http.StatusUnauthorized)
		}), want: "asks for credentials (Basic)"},
		{name: "token refused", version: "1.2.3", handle: func(w http.ResponseWriter, r *http.Request) bool {
			if r.Header.Get("Authorization") == "" {
				return false
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="https://`+r.Host+`/token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}, want: "only public charts"},
		{name: "not a chart", version: "1.2.3", handle: answer("/manifests/", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:` + strings.Repeat("b", 64) + `"}]}`))
		}), want: "no Helm chart layer"},
		{name: "chart over the limit", version: "1.2.3", handle: answer("/manifests/", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","size":1099511627776,"digest":"sha256:` + strings.Repeat("b", 64) + `"}]}`))
		}), want: "over the 67108864-byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := remotetest.NewRegistry(t)
			reg.PushChart(t, "charts/demo", "demo", "1.2.3", remotetest.ChartArchive("demo", "1.2.3", chartFiles))
			reg.Handle = tc.handle
			got, err := remote.New(reg.Options("127.0.0.1")).Chart(context.Background(), remote.ChartRef{Repo: reg.RepoURL("charts"), Name: "demo", Version: tc.version})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %+v, %v; want an error saying %q", got, err, tc.want)
			}
			if !strings.Contains(err.Error(), "chart demo "+tc.version) || strings.Contains(err.Error(), reg.Token) {
				t.Errorf("error %q does not name the chart, or shows the token", err)
			}
		})
	}
}

// Two repositories that differ only by port are two repositories: one
// Fetcher brings each its own chart.
func TestChart_ReposApart(t *testing.T) {
	a, b := remotetest.NewChartRepo(t), remotetest.NewChartRepo(t)
	a.AddChart("demo", "1.2.3", chartFiles)
	b.AddChart("demo", "1.2.3", map[string]string{"templates/role.yaml": "kind: ClusterRole\n"})
	f := remote.New(a.Options("127.0.0.1"))
	for _, c := range []*remotetest.ChartRepo{a, b} {
		got, err := f.Chart(context.Background(), remote.ChartRef{Repo: c.RepoURL(), Name: "demo", Version: "1.2.3"})
		if err != nil || !bytes.Equal(got.Archive, c.Files["/charts/demo-1.2.3.tgz"]) {
			t.Errorf("%s: got another repository's chart, or %v", c.RepoURL(), err)
		}
	}
}

// An index that fails is asked once, and each chart of the repository is
// named in its own error, never another's.
func TestChart_IndexErrorNamesEachChart(t *testing.T) {
	c := remotetest.NewChartRepo(t)
	c.Handle = func(w http.ResponseWriter, r *http.Request) bool {
		http.NotFound(w, r)
		return true
	}
	f := remote.New(c.Options("127.0.0.1"))
	for _, v := range []string{"1.0.0", "2.0.0"} {
		_, err := f.Chart(context.Background(), remote.ChartRef{Repo: c.RepoURL(), Name: "demo", Version: v})
		if err == nil || !strings.Contains(err.Error(), "demo "+v) || !strings.Contains(err.Error(), "has no index.yaml") {
			t.Errorf("version %s: error %v, want it named, saying the repository has no index", v, err)
		}
	}
}
