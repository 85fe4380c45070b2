package remote

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// host is how one repository host serves what rbacguard needs: whether a
// ref is a tag and which commit it names, and an archive of a commit.
type host struct {
	api, archive string // base URLs, overridden by Options.Endpoints
	// downloads are further hosts the host redirects to for archives and
	// release assets.
	downloads []string
	// tag returns the URL that answers 200 when ref is a tag, and reads
	// the commit from its body ("" when it must be asked with commit).
	tag       func(api, repo, ref string) string
	tagCommit func(body []byte) string
	// commit returns the URL answering the commit a ref names (body: the
	// SHA, or JSON readCommit reads).
	commit     func(api, repo, ref string) string
	readCommit func(body []byte) string
	tarball    func(archive, repo, commit string) string
	accept     string // Accept header of the commit request
}

// hosts is the per-host table: only these hosts are fetched from.
var hosts = map[string]host{
	"github.com": {
		api: "https://api.github.com", archive: "https://codeload.github.com",
		downloads: []string{"codeload.github.com", "objects.githubusercontent.com", "release-assets.githubusercontent.com", "github-releases.githubusercontent.com"},
		tag: func(api, repo, ref string) string {
			return fmt.Sprintf("%s/repos/%s/git/ref/tags/%s", api, repo, url.PathEscape(ref))
		},
		tagCommit: func([]byte) string { return "" }, // an annotated tag names a tag object: ask commits/
		commit: func(api, repo, ref string) string {
			return fmt.Sprintf("%s/repos/%s/commits/%s", api, repo, url.PathEscape(ref))
		},
		readCommit: func(b []byte) string { return strings.TrimSpace(string(b)) },
		tarball: func(archive, repo, commit string) string {
			return fmt.Sprintf("%s/%s/tar.gz/%s", archive, repo, commit)
		},
		accept: "application/vnd.github.sha",
	},
	"gitlab.com": {
		api: "https://gitlab.com", archive: "https://gitlab.com",
		tag: func(api, repo, ref string) string {
			return fmt.Sprintf("%s/api/v4/projects/%s/repository/tags/%s", api, url.PathEscape(repo), url.PathEscape(ref))
		},
		tagCommit: func(b []byte) string {
			var t struct {
				Commit struct{ ID string } `json:"commit"`
			}
			_ = json.Unmarshal(b, &t)
			return t.Commit.ID
		},
		commit: func(api, repo, ref string) string {
			return fmt.Sprintf("%s/api/v4/projects/%s/repository/commits/%s", api, url.PathEscape(repo), url.PathEscape(ref))
		},
		readCommit: func(b []byte) string {
			var c struct{ ID string }
			_ = json.Unmarshal(b, &c)
			return c.ID
		},
		tarball: func(archive, repo, commit string) string {
			return fmt.Sprintf("%s/api/v4/projects/%s/repository/archive.tar.gz?sha=%s", archive, url.PathEscape(repo), commit)
		},
	},
}

// Endpoint replaces a host's base URLs (tests serve every one from a
// local server).
type Endpoint struct{ API, Archive, Files string }

func (f *Fetcher) host(name string) (host, bool) {
	h, ok := hosts[name]
	if !ok {
		return h, false
	}
	if e, ok := f.o.Endpoints[name]; ok {
		h.api, h.archive = e.API, e.Archive
	}
	return h, true
}

// fileURL is the URL a file ref is fetched from (Endpoints.Files replaces
// scheme and host).
func (f *Fetcher) fileURL(r Ref) string {
	if e, ok := f.o.Endpoints[r.Host]; ok && e.Files != "" {
		return e.Files + strings.TrimPrefix(r.URL, "https://"+r.Host)
	}
	return r.URL
}
