// Package remotetest serves repositories as GitHub does — tags, commits
// and tar.gz archives — from a local HTTPS server, for tests of package
// remote and of what renders with it. Nothing leaves the loopback.
package remotetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rbacguard/rbacguard/diff/remote"
)

// Server is a local GitHub and GitLab: the same repositories on both.
type Server struct {
	*httptest.Server
	// Tags and Branches map a ref to a commit; Archives a commit to its
	// tar.gz; Files a URL path to a file's bytes.
	Tags, Branches map[string]string // "owner/name@ref" → commit
	Archives       map[string][]byte // commit → archive
	Files          map[string][]byte
	// Handle, when set, answers first (hostile cases); it returns false to
	// fall through.
	Handle func(w http.ResponseWriter, r *http.Request) bool
	// Requests counts the requests answered.
	Requests atomic.Int64
}

// New starts a server; it is closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{Tags: map[string]string{}, Branches: map[string]string{}, Archives: map[string][]byte{}, Files: map[string][]byte{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Options are remote options that fetch github.com from s.
func (s *Server) Options(allow ...string) remote.Options {
	pool := s.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return remote.Options{Allow: allow, AllowLoopback: true, RootCAs: pool,
		Endpoints: map[string]remote.Endpoint{"github.com": {API: s.URL, Archive: s.URL, Files: s.URL}, "gitlab.com": {API: s.URL, Archive: s.URL}}}
}

// AddRepo serves files as repo ("owner/name") at tag, and returns the
// commit.
func (s *Server) AddRepo(repo, tag string, files map[string]string) string {
	sum := sha1.Sum([]byte(repo + "@" + tag + fmtFiles(files)))
	commit := hex.EncodeToString(sum[:])
	s.Tags[repo+"@"+tag] = commit
	s.Archives[commit] = Archive(strings.ReplaceAll(repo, "/", "-")+"-"+commit[:7], files)
	return commit
}

func fmtFiles(files map[string]string) string {
	var b strings.Builder
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + "\x00" + files[k] + "\x00")
	}
	return b.String()
}

// Archive is a tar.gz of files under top/, as GitHub writes it.
func Archive(top string, files map[string]string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: top + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		_ = tw.WriteHeader(&tar.Header{Name: top + "/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[name]))})
		_, _ = tw.Write([]byte(files[name]))
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	if s.Handle != nil && s.Handle(w, r) {
		return
	}
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/repos/"); ok {
		parts := strings.SplitN(rest, "/", 3) // owner, name, the rest
		if len(parts) == 3 {
			repo := parts[0] + "/" + parts[1]
			if tag, ok := strings.CutPrefix(parts[2], "git/ref/tags/"); ok {
				if c, ok := s.Tags[repo+"@"+tag]; ok {
					_, _ = w.Write([]byte(`{"object":{"sha":"` + c + `","type":"commit"}}`))
					return
				}
			}
			if ref, ok := strings.CutPrefix(parts[2], "commits/"); ok {
				c, ok := s.Tags[repo+"@"+ref]
				if !ok {
					c, ok = s.Branches[repo+"@"+ref]
				}
				if ok {
					_, _ = w.Write([]byte(c))
					return
				}
			}
		}
		http.NotFound(w, r)
		return
	}
	if rest, ok := strings.CutPrefix(p, "/api/v4/projects/"); ok { // GitLab (the path unescaped)
		if repoTag, ok := strings.CutSuffix(rest, "/repository/archive.tar.gz"); ok {
			if a, ok := s.Archives[r.URL.Query().Get("sha")]; ok && repoTag != "" {
				_, _ = w.Write(a)
				return
			}
		}
		if repo, tag, ok := strings.Cut(rest, "/repository/tags/"); ok {
			if c, ok := s.Tags[repo+"@"+tag]; ok {
				_, _ = w.Write([]byte(`{"name":"` + tag + `","commit":{"id":"` + c + `"}}`))
				return
			}
		}
		if repo, ref, ok := strings.Cut(rest, "/repository/commits/"); ok {
			if c, ok := s.Branches[repo+"@"+ref]; ok {
				_, _ = w.Write([]byte(`{"id":"` + c + `"}`))
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	if i := strings.Index(p, "/tar.gz/"); i >= 0 {
		if a, ok := s.Archives[p[i+len("/tar.gz/"):]]; ok {
			_, _ = w.Write(a)
			return
		}
	}
	if f, ok := s.Files[p]; ok {
		_, _ = w.Write(f)
		return
	}
	http.NotFound(w, r)
}
