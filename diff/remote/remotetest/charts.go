package remotetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/remote"
)

// ChartArchive is a chart .tgz as `helm package` writes it: files under
// name/, with a Chart.yaml naming name and version unless files has one.
func ChartArchive(name, version string, files map[string]string) []byte {
	all := map[string]string{"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)}
	for k, v := range files {
		all[k] = v
	}
	return Archive(name, all)
}

// Digest is "sha256:<hex>" of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ChartRepo is an HTTP chart repository: an index.yaml and archives under
// /charts on a local HTTPS server (Server: Handle, Requests and Options
// work as for repositories).
type ChartRepo struct {
	*Server
	// Entries are the index's entries by chart name; change one and call
	// WriteIndex.
	Entries map[string][]*ChartEntry
}

// ChartEntry is one version of a chart in the index, as Helm writes it.
type ChartEntry struct {
	Name    string   `yaml:"name"`
	Version string   `yaml:"version"`
	URLs    []string `yaml:"urls"`
	Digest  string   `yaml:"digest,omitempty"` // the bare hex of the archive's sha256
}

// NewChartRepo starts a chart repository; it is closed when the test ends.
func NewChartRepo(t testing.TB) *ChartRepo {
	c := &ChartRepo{Server: New(t), Entries: map[string][]*ChartEntry{}}
	c.WriteIndex()
	return c
}

// RepoURL is the repository's URL, as a helmCharts entry's repo names it.
func (c *ChartRepo) RepoURL() string { return c.URL + "/charts" }

// AddChart serves a chart archive of files at charts/<name>-<version>.tgz
// and lists it in the index by a relative URL and its digest.
func (c *ChartRepo) AddChart(name, version string, files map[string]string) *ChartEntry {
	archive := ChartArchive(name, version, files)
	file := name + "-" + version + ".tgz"
	c.Files["/charts/"+file] = archive
	e := &ChartEntry{Name: name, Version: version, URLs: []string{file}, Digest: strings.TrimPrefix(Digest(archive), "sha256:")}
	c.Entries[name] = append(c.Entries[name], e)
	c.WriteIndex()
	return e
}

// WriteIndex serves the index of Entries.
func (c *ChartRepo) WriteIndex() {
	data, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "entries": c.Entries})
	if err != nil {
		panic(err) // a map of plain structs always marshals
	}
	c.Files["/charts/index.yaml"] = data
}

// Registry is an OCI registry (go-containerregistry's, in memory) on a
// local HTTPS server that, like ghcr.io, answers /v2/ requests without a
// token with 401 and a Bearer challenge naming its realm, /token, which
// hands out Token to anyone.
type Registry struct {
	*httptest.Server
	Token string
	// Handle, when set, answers first; it returns false to fall through.
	Handle   func(w http.ResponseWriter, r *http.Request) bool
	Requests atomic.Int64

	inner http.Handler
	mu    sync.Mutex
	blobs map[string][]byte // by digest, for the CDN
	cdn   *httptest.Server
	// cdnAuth are the Authorization headers the CDN received.
	cdnAuth []string
}

// NewRegistry starts a registry; it is closed when the test ends.
func NewRegistry(t testing.TB) *Registry {
	r := &Registry{Token: "registry-t0ken", blobs: map[string][]byte{},
		inner: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

// Host is the registry's host:port.
func (r *Registry) Host() string { return strings.TrimPrefix(r.URL, "https://") }

// RepoURL is the oci:// URL of a repository path ("charts").
func (r *Registry) RepoURL(path string) string { return "oci://" + r.Host() + "/" + path }

// Options are remote options that trust the registry's certificate and
// reach it on the loopback; allow are the policy's globs.
func (r *Registry) Options(allow ...string) remote.Options {
	pool := r.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return remote.Options{Allow: allow, AllowLoopback: true, RootCAs: pool}
}

// RedirectBlobs makes the registry answer blob requests with a redirect to
// a second server, as registries send blobs to a CDN.
func (r *Registry) RedirectBlobs(t testing.TB) {
	r.cdn = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.cdnAuth = append(r.cdnAuth, req.Header.Get("Authorization"))
		data, ok := r.blobs[strings.TrimPrefix(req.URL.Path, "/blobs/")]
		r.mu.Unlock()
		if !ok {
			http.NotFound(w, req)
			return
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(r.cdn.Close)
}

// CDNAuthorization are the Authorization headers the CDN received, one a
// request ("" when none).
func (r *Registry) CDNAuthorization() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cdnAuth...)
}

var v2Name = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs)/`)

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	r.Requests.Add(1)
	if r.Handle != nil && r.Handle(w, req) {
		return
	}
	if req.URL.Path == "/token" {
		if !strings.HasSuffix(req.URL.Query().Get("scope"), ":pull") || req.Header.Get("Authorization") != "" {
			http.Error(w, "anonymous pull tokens only", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"token": r.Token})
		return
	}
	if req.Header.Get("Authorization") != "Bearer "+r.Token {
		scope := ""
		if m := v2Name.FindStringSubmatch(req.URL.Path); m != nil {
			scope = fmt.Sprintf(`,scope="repository:%s:pull"`, m[1])
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://%s/token",service="remotetest"%s`, req.Host, scope))
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
		return
	}
	if m := v2Name.FindStringSubmatch(req.URL.Path); r.cdn != nil && m != nil && m[2] == "blobs" && req.Method == http.MethodGet {
		http.Redirect(w, req, r.cdn.URL+"/blobs/"+req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:], http.StatusTemporaryRedirect)
		return
	}
	r.inner.ServeHTTP(w, req)
}

// PushChart pushes archive to repo ("charts/demo") as `helm push` does:
// the config and chart layer blobs, then a manifest tagged with version
// ("+" written "_"). It returns the manifest's digest.
func (r *Registry) PushChart(t testing.TB, repo, name, version string, archive []byte) string {
	t.Helper()
	config := []byte(fmt.Sprintf(`{"name":%q,"version":%q,"apiVersion":"v2"}`, name, version))
	for _, blob := range [][]byte{config, archive} {
		resp := r.push(t, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", "", nil, http.StatusAccepted)
		r.push(t, http.MethodPut, resp.Header.Get("Location")+"?digest="+Digest(blob), "application/octet-stream", blob, http.StatusCreated)
		r.mu.Lock()
		r.blobs[Digest(blob)] = blob
		r.mu.Unlock()
	}
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": Digest(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": Digest(archive), "size": len(archive)}},
		"annotations":   map[string]string{"org.opencontainers.image.title": name, "org.opencontainers.image.version": version},
	})
	r.push(t, http.MethodPut, "/v2/"+repo+"/manifests/"+strings.ReplaceAll(version, "+", "_"), "application/vnd.oci.image.manifest.v1+json", manifest, http.StatusCreated)
	return Digest(manifest)
}

func (r *Registry) push(t testing.TB, method, path, contentType string, body []byte, want int) *http.Response {
	t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = r.URL + path
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, want, msg)
	}
	return resp
}
