package githubtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// codeloadTTL is how long a private archive link stays valid.
const codeloadTTL = 5 * time.Minute

type codeloadLink struct {
	owner, repo, sha string
	expires          time.Time
}

// SetTarball makes GET /repos/{owner}/{repo}/tarball/{sha} serve files
// (path → content) as GitHub builds the archive: gzip tar with a pax global
// header carrying the commit, every entry under "owner-repo-<sha7>/",
// directories before their contents. The ref may also be a branch of a
// seeded pull request. A file whose content is Symlink(target) is a
// symbolic link.
func (s *Server) SetTarball(owner, repo, sha string, files map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoLocked(owner, repo).tarballs[sha] = maps.Clone(files)
}

// symlinkMark starts the content of a file that is a symbolic link; no
// text file starts with a NUL byte.
const symlinkMark = "\x00symlink\x00"

// Symlink is the content SetTarball turns into a symbolic link to target
// (as written in the link, e.g. "../common/role.yaml").
func Symlink(target string) string { return symlinkMark + target }

func buildTarball(owner, repo, sha string, files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mtime := time.Unix(1_700_000_000, 0)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": sha}, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	top := fmt.Sprintf("%s-%s-%s/", owner, repo, sha[:min(7, len(sha))])
	dirs := map[string]bool{}
	var mkdir func(string) error
	mkdir = func(d string) error {
		if d == "." || d == "" || dirs[d] {
			return nil
		}
		if err := mkdir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top + d + "/", Mode: 0o775, ModTime: mtime})
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top, Mode: 0o775, ModTime: mtime}); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		clean := strings.TrimPrefix(path.Clean("/"+name), "/")
		if err := mkdir(path.Dir(clean)); err != nil {
			return nil, err
		}
		body := files[name]
		if target, ok := strings.CutPrefix(body, symlinkMark); ok {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: top + clean, Linkname: target, Mode: 0o777, ModTime: mtime}); err != nil {
				return nil, err
			}
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: top + clean, Mode: 0o664, Size: int64(len(body)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// GET /repos/{owner}/{repo}/tarball/{ref}
func (s *Server) getTarball(c *call) {
	s.mu.Lock()
	rp := c.repo()
	if rp == nil {
		s.mu.Unlock()
		return
	}
	sha := resolveRef(rp, c.r.PathValue("ref"))
	files, ok := rp.tarballs[sha]
	if !ok {
		s.mu.Unlock()
		c.notFound()
		return
	}
	if s.tarballRedirect {
		nonce := rand.Text()
		s.codeload[nonce] = codeloadLink{owner: rp.owner, repo: rp.name, sha: sha, expires: s.now().Add(codeloadTTL)}
		loc := fmt.Sprintf("%s%s%s/%s/legacy.tar.gz/%s?token=%s", s.ts.URL, codeloadPrefix, rp.owner, rp.name, sha, nonce)
		s.mu.Unlock()
		c.w.Header().Set("Location", loc)
		c.w.WriteHeader(http.StatusFound)
		return
	}
	owner, name := rp.owner, rp.name
	s.mu.Unlock()
	c.serveTarball(owner, name, sha, files)
}

func (c *call) serveTarball(owner, repo, sha string, files map[string]string) {
	b, err := buildTarball(owner, repo, sha, files)
	if err != nil {
		c.s.t.Errorf("githubtest: build tarball of %s/%s@%s: %v", owner, repo, sha, err)
		c.json(http.StatusInternalServerError, errBody("fake tarball error"))
		return
	}
	c.w.Header().Set("Content-Type", "application/x-gzip")
	c.w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%s-%s-%s.tar.gz", owner, repo, sha[:min(7, len(sha))]))
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(b)
}

// GET /codeload/{owner}/{repo}/legacy.tar.gz/{sha}?token=… (TarballRedirect)
func (s *Server) getCodeload(c *call) {
	s.mu.Lock()
	link, ok := s.codeload[c.r.URL.Query().Get("token")]
	valid := ok && s.now().Before(link.expires) &&
		link.owner == c.r.PathValue("owner") && link.repo == c.r.PathValue("repo") && link.sha == c.r.PathValue("sha")
	var files map[string]string
	if valid {
		files = s.findRepo(link.owner, link.repo).tarballs[link.sha]
	}
	s.mu.Unlock()
	if !valid {
		c.notFound()
		return
	}
	c.serveTarball(link.owner, link.repo, link.sha, files)
}
