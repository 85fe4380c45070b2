// Package remote fetches what a kustomization names by URL — a remote base
// (a repository at a ref, and a path in it) or a remote file resource — over
// HTTPS, as a repository archive the host serves, never with git: no
// program runs, no ssh, no file://, no submodules, no hooks. Only hosts the
// policy allows are asked (Options.Allow), every redirect is checked again,
// addresses on the loopback, link-local and private ranges are refused
// unless named, and bytes, files, time and redirects are bounded. A ref is
// resolved to the commit the host says it names; an archive is cached by
// (repository, commit), in memory and, when Options.CacheDir is set, on
// disk, both bounded in size.
//
// Helm charts a kustomization's helmCharts names come the same way
// (chart.go, oci.go): from an HTTP chart repository through its
// index.yaml, or from an OCI registry by the distribution protocol with an
// anonymous pull token, under the same allow list, address checks and
// bounds. Only a pinned version (an exact semver version or a digest) is
// fetched; an archive is checked against the digest the index or manifest
// gives and cached by it. Nothing is unpacked here: Helm's loader reads
// the archive, elsewhere.
package remote

import (
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Ref is a kustomize remote entry parsed: a repository of a known host, a
// path in it and the ref asked for. A File ref is a single file fetched by
// its URL (a release asset).
type Ref struct {
	Raw   string // the entry as written
	Host  string // github.com, gitlab.com
	Repo  string // owner/name (GitLab: group/…/name)
	Path  string // the directory in the repository, "" for its root
	Ref   string // tag, branch or commit; "" when none was given
	File  bool   // a file URL, not a repository
	URL   string // for a file, the URL fetched
	query url.Values
}

// Owner is the first element of Repo.
func (r Ref) Owner() string { o, _, _ := strings.Cut(r.Repo, "/"); return o }

// Name is the entry without its ref: "github.com/fluxcd/flux2/manifests/install".
func (r Ref) Name() string {
	if r.File {
		return strings.TrimPrefix(strings.TrimPrefix(r.URL, "https://"), "http://")
	}
	return strings.TrimSuffix(path.Join(r.Host, r.Repo, r.Path), "/")
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsCommit reports whether the ref is a full commit SHA: pinned already.
func (r Ref) IsCommit() bool { return fullSHA.MatchString(r.Ref) }

// Parse reads every spelling kustomize accepts for a remote base of a
// repository host — "https://github.com/o/r//path?ref=v1",
// "git::https://github.com/o/r.git//path?ref=v1", "github.com/o/r/path?ref=v1",
// "gitlab.com/group/r//path?ref=v1" — and https file URLs. ok is false for
// what is never fetched: ssh, git@, file://, plain http, other schemes.
func Parse(raw string) (r Ref, ok bool) {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(s, "git::")
	switch {
	case strings.HasPrefix(s, "https://"):
		s = strings.TrimPrefix(s, "https://")
	case strings.Contains(s, "://"), strings.HasPrefix(s, "git@"), strings.HasPrefix(s, "ssh:"), strings.HasPrefix(s, "file:"):
		return Ref{}, false
	case !strings.Contains(strings.SplitN(s, "/", 2)[0], "."):
		return Ref{}, false // not a host
	}
	rest, rawQuery, _ := strings.Cut(s, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil || strings.ContainsAny(rest, "\\") || strings.Contains(strings.ToLower(rest), "%2e") {
		return Ref{}, false
	}
	host, p, _ := strings.Cut(rest, "/")
	host = strings.ToLower(host)
	if host == "" || p == "" || strings.Contains(host, "@") {
		return Ref{}, false
	}
	r = Ref{Raw: raw, Host: host, Ref: cmpOr(q.Get("ref"), q.Get("version")), query: q}
	repo, sub, split := strings.Cut(p, "//")
	if !split {
		if isFileURL(p) && rawQuery == "" {
			return Ref{Raw: raw, Host: host, File: true, URL: "https://" + rest}, validPath(p)
		}
		// Without "//", the first two elements are the repository (as
		// kustomize reads github.com and gitlab.com URLs).
		parts := strings.SplitN(p, "/", 3)
		if len(parts) < 2 {
			return Ref{}, false
		}
		repo = parts[0] + "/" + parts[1]
		if len(parts) == 3 {
			sub = parts[2]
		}
	}
	r.Repo = strings.TrimSuffix(strings.Trim(repo, "/"), ".git")
	r.Path = strings.Trim(sub, "/")
	if strings.Count(r.Repo, "/") < 1 || !validPath(r.Repo) || (r.Path != "" && !validPath(r.Path)) {
		return Ref{}, false
	}
	return r, true
}

func isFileURL(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// validPath refuses empty, "." and ".." elements: a path that climbs out
// of the repository, or names another owner after an allowed one.
func validPath(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == "" || e == "." || e == ".." {
			return false
		}
	}
	return true
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
