package remote_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/diff/remote"
	"github.com/rbacguard/rbacguard/diff/remote/remotetest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in                   string
		ok                   bool
		host, repo, dir, ref string
		file                 bool
	}{
		{in: "https://github.com/fluxcd/flux2//manifests/install?ref=v2.4.0", ok: true, host: "github.com", repo: "fluxcd/flux2", dir: "manifests/install", ref: "v2.4.0"},
		{in: "git::https://github.com/fluxcd/flux2.git//manifests/install?ref=v2.4.0", ok: true, host: "github.com", repo: "fluxcd/flux2", dir: "manifests/install", ref: "v2.4.0"},
		{in: "github.com/fluxcd/flux2/manifests/install?ref=v2.4.0", ok: true, host: "github.com", repo: "fluxcd/flux2", dir: "manifests/install", ref: "v2.4.0"},
		{in: "https://github.com/fluxcd/flux2/manifests/install?version=v2.4.0", ok: true, host: "github.com", repo: "fluxcd/flux2", dir: "manifests/install", ref: "v2.4.0"},
		{in: "gitlab.com/group/sub/proj//deploy?ref=1.0", ok: true, host: "gitlab.com", repo: "group/sub/proj", dir: "deploy", ref: "1.0"},
		{in: "github.com/acme/base", ok: true, host: "github.com", repo: "acme/base"},
		{in: "https://github.com/fluxcd/source-controller/releases/download/v1.4.1/source-controller.crds.yaml", ok: true, host: "github.com", file: true},
		{in: "git@github.com:acme/base.git//deploy?ref=v1"},
		{in: "ssh://git@github.com/acme/base//deploy?ref=v1"},
		{in: "file:///etc//passwd"},
		{in: "http://github.com/acme/base//deploy?ref=v1"},
		{in: "https://github.com/acme/base//../../x?ref=v1"},
		{in: "https://github.com/acme/%2e%2e/x?ref=v1"},
	} {
		r, ok := remote.Parse(tc.in)
		if ok != tc.ok || r.Host != tc.host || (!tc.file && (r.Repo != tc.repo || r.Path != tc.dir || r.Ref != tc.ref)) || r.File != tc.file {
			t.Errorf("Parse(%q) = %+v, %v; want ok=%v %s %s %s %s file=%v", tc.in, r, ok, tc.ok, tc.host, tc.repo, tc.dir, tc.ref, tc.file)
		}
	}
}

var base = map[string]string{"deploy/kustomization.yaml": "resources: [role.yaml]\n", "deploy/role.yaml": "kind: Role\n"}

func get(t *testing.T, o remote.Options, entry string) (*remote.Fetched, error) {
	t.Helper()
	r, ok := remote.Parse(entry)
	if !ok {
		t.Fatalf("Parse(%q) failed", entry)
	}
	return remote.New(o).Get(context.Background(), r)
}

func TestGet(t *testing.T) {
	s := remotetest.New(t)
	commit := s.AddRepo("acme/base", "v1.0.0", base)
	s.Branches["acme/base@main"] = commit

	got, err := get(t, s.Options("github.com/acme"), "https://github.com/acme/base//deploy?ref=v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != commit || !got.Pinned {
		t.Errorf("tag: commit %s pinned %v, want %s pinned", got.Commit, got.Pinned, commit)
	}
	if data, err := readFile(got, "deploy/role.yaml"); err != nil || data != "kind: Role\n" {
		t.Errorf("deploy/role.yaml = %q, %v", data, err)
	}
	if got, err := get(t, s.Options("github.com/acme"), "github.com/acme/base/deploy?ref=main"); err != nil || got.Pinned || got.Commit != commit {
		t.Errorf("branch: %+v, %v; want unpinned at %s", got, err, commit)
	}
	if got, err := get(t, s.Options("github.com/acme"), "github.com/acme/base/deploy?ref="+commit); err != nil || !got.Pinned {
		t.Errorf("full SHA: %+v, %v; want pinned", got, err)
	}
	if _, err := get(t, s.Options("github.com/other"), "github.com/acme/base/deploy?ref=v1.0.0"); err == nil || !strings.Contains(err.Error(), "remote.allow") {
		t.Errorf("owner not allowed: %v", err)
	}
	if _, err := get(t, s.Options("github.com/acme"), "github.com/acme/base/deploy?ref=v9"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing ref: %v", err)
	}
}

func readFile(f *remote.Fetched, name string) (string, error) {
	file, err := f.Tree.Open(name)
	if err != nil {
		return "", err
	}
	defer file.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(file)
	return b.String(), err
}

func TestCache(t *testing.T) {
	s := remotetest.New(t)
	s.AddRepo("acme/base", "v1.0.0", base)
	o := s.Options("github.com/acme")
	o.CacheDir = t.TempDir()
	if _, err := get(t, o, "github.com/acme/base/deploy?ref=v1.0.0"); err != nil {
		t.Fatal(err)
	}
	archives := 0
	s.Handle = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/tar.gz/") {
			archives++
		}
		return false
	}
	if _, err := get(t, o, "github.com/acme/base/deploy?ref=v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if archives != 0 {
		t.Errorf("a warm cache fetched the archive %d times", archives)
	}
	// A damaged copy fails once and is dropped: the next run fetches again.
	files, _ := filepath.Glob(filepath.Join(o.CacheDir, "*.tar.gz"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v, want one archive", files)
	}
	if err := os.WriteFile(files[0], []byte("not gzip"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, o, "github.com/acme/base/deploy?ref=v1.0.0"); err == nil {
		t.Error("a damaged cached archive was read without an error")
	}
	if _, err := get(t, o, "github.com/acme/base/deploy?ref=v1.0.0"); err != nil || archives != 1 {
		t.Errorf("after a damaged copy: %v, %d archive fetches, want one", err, archives)
	}
}

// Hostile hosts and archives end in an error that says what, never in a
// fetch that reaches further or a tree that leaves the archive.
func TestHostile(t *testing.T) {
	tarGz := func(write func(tw *tar.Writer)) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		write(tw)
		_ = tw.Close()
		_ = gz.Close()
		return buf.Bytes()
	}
	file := func(tw *tar.Writer, name string, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
		_, _ = tw.Write(data)
	}
	for _, tc := range []struct {
		name    string
		archive []byte
		handle  func(w http.ResponseWriter, r *http.Request) bool
		noLoop  bool
		limits  remote.Limits
		want    string
	}{
		{name: "loopback refused", noLoop: true, want: "refusing to connect to 127.0.0.1"},
		{name: "redirect to another host", handle: func(w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "https://169.254.169.254/latest/meta-data", http.StatusFound)
			return true
		}, want: "host not allowed"},
		{name: "redirect to loopback by another name", handle: func(w http.ResponseWriter, r *http.Request) bool {
			_, port, _ := net.SplitHostPort(r.Host)
			http.Redirect(w, r, "https://localhost:"+port+"/x", http.StatusFound)
			return true
		}, want: "host not allowed"},
		{name: "redirect to http", handle: func(w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "http://github.com/x", http.StatusFound)
			return true
		}, want: "only https"},
		{name: "redirect loop", handle: func(w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
			return true
		}, want: "redirects"},
		{name: "dot-dot entry", archive: tarGz(func(tw *tar.Writer) { file(tw, "top/../../etc/passwd", []byte("x")) }), want: ".."},
		{name: "gzip bomb", archive: tarGz(func(tw *tar.Writer) { file(tw, "top/deploy/zeros.yaml", make([]byte, 8<<20)) }),
			limits: remote.Limits{MaxTreeBytes: 1 << 20, MaxFileBytes: 16 << 20}, want: "too large"},
		{name: "too many files", archive: tarGz(func(tw *tar.Writer) {
			for i := range 500 {
				file(tw, fmt.Sprintf("top/deploy/f%d.yaml", i), []byte("a: 1\n"))
			}
		}), limits: remote.Limits{MaxFiles: 100}, want: "more than 100 files"},
		{name: "over the run's bound", limits: remote.Limits{MaxRunBytes: 10}, want: "more than 10 bytes"},
		{name: "archive too large", archive: bytes.Repeat([]byte{1}, 2<<20), limits: remote.Limits{MaxArchiveBytes: 1 << 20}, want: "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := remotetest.New(t)
			commit := s.AddRepo("acme/base", "v1.0.0", base)
			if tc.archive != nil {
				s.Archives[commit] = tc.archive
			}
			s.Handle = tc.handle
			o := s.Options("github.com/acme")
			o.AllowLoopback = !tc.noLoop
			o.Limits = tc.limits
			_, err := get(t, o, "github.com/acme/base/deploy?ref=v1.0.0")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// A symbolic link leading out of the archive is left out of the tree.
func TestSymlinkOut(t *testing.T) {
	s := remotetest.New(t)
	commit := s.AddRepo("acme/base", "v1.0.0", base)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "top/deploy/secret.yaml", Typeflag: tar.TypeSymlink, Linkname: "../../../etc/passwd"})
	_ = tw.Close()
	_ = gz.Close()
	s.Archives[commit] = buf.Bytes()
	got, err := get(t, s.Options("github.com/acme"), "github.com/acme/base/deploy?ref=v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readFile(got, "deploy/secret.yaml"); err == nil {
		t.Error("a link out of the archive was read")
	}
	if len(got.Tree.Skipped()) != 1 {
		t.Errorf("skipped = %v, want the link", got.Tree.Skipped())
	}
}

func TestGitLab(t *testing.T) {
	s := remotetest.New(t)
	commit := s.AddRepo("group/sub/proj", "1.0", base)
	got, err := get(t, s.Options("gitlab.com/group"), "gitlab.com/group/sub/proj//deploy?ref=1.0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != commit || !got.Pinned {
		t.Errorf("commit %s pinned %v, want %s pinned", got.Commit, got.Pinned, commit)
	}
	if data, err := readFile(got, "deploy/role.yaml"); err != nil || data != "kind: Role\n" {
		t.Errorf("deploy/role.yaml = %q, %v", data, err)
	}
}

// The token goes to the host's API only, never to where archives come
// from.
func TestToken(t *testing.T) {
	s := remotetest.New(t)
	s.AddRepo("acme/base", "v1.0.0", base)
	auth := map[string]string{}
	s.Handle = func(w http.ResponseWriter, r *http.Request) bool {
		kind := "api"
		if strings.Contains(r.URL.Path, "/tar.gz/") {
			kind = "archive"
		}
		auth[kind] += r.Header.Get("Authorization")
		return false
	}
	o := s.Options("github.com/acme")
	o.Tokens = map[string]string{"github.com": "t0ken"}
	if _, err := get(t, o, "github.com/acme/base/deploy?ref=v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if auth["api"] == "" || auth["archive"] != "" {
		t.Errorf("Authorization sent: %q", auth)
	}
}

func TestRateLimited(t *testing.T) {
	s := remotetest.New(t)
	s.AddRepo("acme/base", "v1.0.0", base)
	s.Handle = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusForbidden)
		return true
	}
	if _, err := get(t, s.Options("github.com/acme"), "github.com/acme/base/deploy?ref=v1.0.0"); err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Errorf("err = %v, want the rate limit named", err)
	}
}

// An allow entry naming an address lets connections reach it though it
// is a loopback one.
func TestAddressNamed(t *testing.T) {
	s := remotetest.New(t)
	s.AddRepo("acme/base", "v1.0.0", base)
	o := s.Options("github.com/acme", "127.0.0.1")
	o.AllowLoopback = false
	if _, err := get(t, o, "github.com/acme/base/deploy?ref=v1.0.0"); err != nil {
		t.Errorf("an allowed address was refused: %v", err)
	}
}
