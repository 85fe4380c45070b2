package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rbacguard/rbacguard/diff/glob"
	"github.com/rbacguard/rbacguard/diff/source"
)

// Options say what may be fetched and how much.
type Options struct {
	// Allow are host/owner globs ("github.com", "github.com/fluxcd",
	// "gitlab.com/*/charts"), matched element by element against the
	// start of host/owner/repo. An empty list allows nothing.
	Allow []string
	// Prefixes are URL prefixes allowed as well (--allow-remote-base,
	// the policy's remoteBases).
	Prefixes []string
	// Endpoints replace a host's base URLs (tests).
	Endpoints map[string]Endpoint
	// AllowLoopback lets connections reach 127.0.0.0/8 and ::1 (tests).
	AllowLoopback bool
	// RootCAs, when set, are the only roots trusted (tests).
	RootCAs *x509.CertPool
	// Tokens are bearer tokens by host, sent to that host's API only
	// (never to its archive or download hosts, never printed).
	Tokens   map[string]string
	Limits   Limits
	CacheDir string // "" keeps the cache in memory only
}

// Limits bound one fetch. Zero values take DefaultLimits' value.
type Limits struct {
	MaxArchiveBytes int64 // compressed bytes of one archive or file
	MaxTreeBytes    int64 // decompressed bytes of one archive
	MaxFiles        int   // files of one archive
	MaxFileBytes    int64 // one file
	Timeout         time.Duration
	MaxRedirects    int
	CacheBytes      int64 // archives kept on disk (in memory: a quarter)
	// MaxRunBytes bounds what one Fetcher holds unpacked, over every
	// entry: a pull request naming many large repositories ends in an
	// error, not in the runner's memory.
	MaxRunBytes int64
}

// DefaultLimits fit any real manifest repository.
func DefaultLimits() Limits {
	return Limits{MaxArchiveBytes: 64 << 20, MaxTreeBytes: 256 << 20, MaxFiles: 50_000, MaxFileBytes: 8 << 20,
		Timeout: 60 * time.Second, MaxRedirects: 5, CacheBytes: 1 << 30, MaxRunBytes: 1 << 30}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	l.MaxArchiveBytes = orDefault(l.MaxArchiveBytes, d.MaxArchiveBytes)
	l.MaxTreeBytes = orDefault(l.MaxTreeBytes, d.MaxTreeBytes)
	l.MaxFiles = int(orDefault(int64(l.MaxFiles), int64(d.MaxFiles)))
	l.MaxFileBytes = orDefault(l.MaxFileBytes, d.MaxFileBytes)
	l.Timeout = time.Duration(orDefault(int64(l.Timeout), int64(d.Timeout)))
	l.MaxRedirects = int(orDefault(int64(l.MaxRedirects), int64(d.MaxRedirects)))
	l.CacheBytes = orDefault(l.CacheBytes, d.CacheBytes)
	l.MaxRunBytes = orDefault(l.MaxRunBytes, d.MaxRunBytes)
	return l
}

func orDefault(v, d int64) int64 {
	if v <= 0 {
		return d
	}
	return v
}

// Fetched is a remote entry brought in: the repository at a commit (or one
// file) and whether the ref pins it.
type Fetched struct {
	Ref    Ref
	Commit string // the commit; for a file, "sha256:" and its digest
	// Pinned is false for a branch or a missing ref: what it grants can
	// change without a pull request.
	Pinned bool
	// Tree is the repository (a file: one file named by its base name);
	// nil when the ref is not pinned.
	Tree source.Tree
}

// Fetcher fetches remote entries; one is shared by every render of a run,
// and is safe for concurrent use.
type Fetcher struct {
	o      Options
	lim    Limits
	client *http.Client
	mu     sync.Mutex
	calls  map[string]*call // by entry (resolution) and by repo@commit (archive)
	cache  *cache
	held   atomic.Int64 // bytes of the trees fetched (Limits.MaxRunBytes)
}

type call struct {
	done chan struct{}
	val  any // what fn returned: *Fetched, or a chart's index or archive (chart.go)
	err  error
}

// New returns a Fetcher for o.
func New(o Options) *Fetcher {
	f := &Fetcher{o: o, lim: o.Limits.withDefaults(), calls: map[string]*call{}}
	f.cache = newCache(o.CacheDir, f.lim.CacheBytes)
	dialer := &net.Dialer{Timeout: 15 * time.Second, Control: f.checkAddress}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would be dialled instead of the checked address
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	if o.RootCAs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	}
	f.client = &http.Client{Transport: tr, CheckRedirect: f.checkRedirect}
	return f
}

// ErrNotAllowed is an entry whose host and owner the policy does not allow.
var ErrNotAllowed = errors.New("not allowed")

// Allowed reports whether r may be fetched.
func (f *Fetcher) Allowed(r Ref) bool {
	if _, ok := hosts[r.Host]; !ok {
		return false
	}
	if glob.URLPrefix(f.o.Prefixes, strings.TrimSpace(r.Raw)) {
		return true
	}
	key := path.Join(r.Host, r.Repo)
	if r.File {
		key = strings.TrimPrefix(r.URL, "https://")
	}
	return slices.ContainsFunc(f.o.Allow, func(g string) bool { return globAllows(g, key) })
}

// globAllows matches glob g element by element against the start of key.
func globAllows(g, key string) bool {
	ge, ke := strings.Split(strings.Trim(g, "/"), "/"), strings.Split(key, "/")
	if len(ge) > len(ke) || g == "" {
		return false
	}
	for i, e := range ge {
		if ok, err := path.Match(e, ke[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// Get fetches r: resolves its ref and brings the archive of that commit
// (or the file). The same entry is fetched once per Fetcher.
func (f *Fetcher) Get(ctx context.Context, r Ref) (*Fetched, error) {
	if !f.Allowed(r) {
		return nil, fmt.Errorf("%s is %w: add %s to the policy's remote.allow", r.Host+"/"+r.Owner(), ErrNotAllowed, r.Host+"/"+r.Owner())
	}
	return f.once("get "+r.Raw, func() (*Fetched, error) {
		ctx, cancel := context.WithTimeout(ctx, f.lim.Timeout)
		defer cancel()
		if r.File {
			return f.getFile(ctx, r)
		}
		if r.Ref == "" { // no ref: the default branch, unpinned without asking
			return &Fetched{Ref: r}, nil
		}
		commit, pinned, err := f.resolve(ctx, r)
		if err != nil || !pinned { // a branch is never fetched: nothing renders it
			return &Fetched{Ref: r, Commit: commit}, err
		}
		t, err := f.archive(ctx, r, commit)
		if err != nil {
			return nil, err
		}
		return &Fetched{Ref: r, Commit: commit, Pinned: pinned, Tree: t}, nil
	})
}

func (f *Fetcher) once(key string, fn func() (*Fetched, error)) (*Fetched, error) {
	return onceFor(f, key, fn)
}

// onceFor runs fn once per key and Fetcher; concurrent callers of the same
// key wait for the first and share its answer (a method cannot be generic).
func onceFor[T any](f *Fetcher, key string, fn func() (T, error)) (T, error) {
	f.mu.Lock()
	c, ok := f.calls[key]
	if !ok {
		c = &call{done: make(chan struct{})}
		f.calls[key] = c
		f.mu.Unlock()
		c.val, c.err = fn()
		close(c.done)
	} else {
		f.mu.Unlock()
		<-c.done
	}
	v, _ := c.val.(T)
	return v, c.err
}

// resolve asks the host which commit r's ref names, and whether it is a
// tag (pinned) or a branch. A full SHA is a commit already.
func (f *Fetcher) resolve(ctx context.Context, r Ref) (commit string, pinned bool, err error) {
	if r.IsCommit() {
		return r.Ref, true, nil
	}
	h, _ := f.host(r.Host)
	ref := r.Ref
	if ref != "" {
		body, status, err := f.get(ctx, h.tag(h.api, r.Repo, ref), "", f.o.Tokens[r.Host], 1<<20)
		if err != nil {
			return "", false, err
		}
		if status == http.StatusOK {
			pinned = true
			if c := h.tagCommit(body); fullSHA.MatchString(c) {
				return c, true, nil
			}
		}
	} else {
		ref = "HEAD"
	}
	body, status, err := f.get(ctx, h.commit(h.api, r.Repo, ref), h.accept, f.o.Tokens[r.Host], 1<<20)
	if err != nil {
		return "", false, err
	}
	if status != http.StatusOK {
		return "", false, fmt.Errorf("%s: ref %q not found (HTTP %d)", r.Host+"/"+r.Repo, ref, status)
	}
	commit = strings.ToLower(h.readCommit(body))
	if !fullSHA.MatchString(commit) {
		return "", false, fmt.Errorf("%s: the host did not name the commit of %q", r.Host+"/"+r.Repo, ref)
	}
	return commit, pinned, nil
}

// archive returns the repository at commit, from the cache or the host.
func (f *Fetcher) archive(ctx context.Context, r Ref, commit string) (source.Tree, error) {
	key := r.Host + "/" + r.Repo + "@" + commit
	got, err := f.once("archive "+key, func() (*Fetched, error) {
		data, ok := f.cache.get(key)
		if !ok {
			h, _ := f.host(r.Host)
			body, status, err := f.get(ctx, h.tarball(h.archive, r.Repo, commit), "", "", f.lim.MaxArchiveBytes)
			if err != nil {
				return nil, err
			}
			if status != http.StatusOK {
				return nil, fmt.Errorf("%s: archive of %s: HTTP %d", r.Host+"/"+r.Repo, commit, status)
			}
			data = body
		}
		t, err := source.Tarball(bytes.NewReader(data), commit, source.Limits{MaxFileBytes: f.lim.MaxFileBytes, MaxTotalBytes: f.lim.MaxTreeBytes, MaxFiles: f.lim.MaxFiles})
		if err != nil {
			if ok {
				f.cache.drop(key) // a damaged copy: the next run fetches it again
			}
			return nil, fmt.Errorf("%s at %s: %w", r.Host+"/"+r.Repo, commit, err)
		}
		if err := f.hold(t); err != nil {
			return nil, err
		}
		if !ok {
			f.cache.put(key, data)
		}
		return &Fetched{Tree: t}, nil
	})
	if err != nil {
		return nil, err
	}
	return got.Tree, nil
}

// hold counts t's bytes against the run's bound.
func (f *Fetcher) hold(t source.Tree) error {
	var n int64
	for _, p := range t.Files() {
		if info, err := fs.Stat(t, p); err == nil {
			n += info.Size()
		}
	}
	return f.holdBytes(n)
}

// holdBytes counts n bytes against the run's bound.
func (f *Fetcher) holdBytes(n int64) error {
	if total := f.held.Add(n); total > f.lim.MaxRunBytes {
		return fmt.Errorf("the remote entries of this run hold more than %d bytes; vendor the large ones into the repository", f.lim.MaxRunBytes)
	}
	return nil
}

// getFile fetches a file URL; its commit is the digest of what came.
func (f *Fetcher) getFile(ctx context.Context, r Ref) (*Fetched, error) {
	body, status, err := f.get(ctx, f.fileURL(r), "", "", f.lim.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", status)
	}
	m := source.NewMem(r.URL, source.Limits{MaxFileBytes: f.lim.MaxFileBytes})
	if err := m.Add(path.Base(r.URL), body); err != nil {
		return nil, err
	}
	if err := f.hold(m); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	// A release asset's URL names its version; what it holds is kept by
	// digest, so that a change of the asset under the same URL shows.
	return &Fetched{Ref: r, Commit: "sha256:" + hex.EncodeToString(sum[:]), Pinned: true, Tree: m}, nil
}

// get fetches u with a body bound. 200 and 404 are answers (a 404 tells
// "not a tag"); any other status is an error saying what to do.
func (f *Fetcher) get(ctx context.Context, u, accept, token string, maxBytes int64) ([]byte, int, error) {
	body, resp, err := f.request(ctx, u, accept, token, maxBytes, http.StatusNotFound)
	if resp == nil {
		return body, 0, err
	}
	return body, resp.StatusCode, err
}

// request is get for callers that read the answer's headers (an OCI
// registry's 401 names where its token comes from): 200 and the statuses
// in answers return the response, whose body is read (200) or closed.
func (f *Fetcher) request(ctx context.Context, u, accept, token string, maxBytes int64, answers ...int) ([]byte, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	if req.URL.Scheme != "https" {
		return nil, nil, fmt.Errorf("refusing %s: only https is fetched", redact(u))
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", "rbacguard")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", redact(u), unwrapURL(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case slices.Contains(answers, resp.StatusCode):
		return nil, resp, nil
	case resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusTooManyRequests:
		return nil, resp, fmt.Errorf("fetch %s: HTTP %d (the host's rate limit? give the Action a github-token, or retry later)", redact(u), resp.StatusCode)
	default:
		return nil, resp, fmt.Errorf("fetch %s: HTTP %d", redact(u), resp.StatusCode)
	}
	if resp.ContentLength > maxBytes {
		return nil, nil, fmt.Errorf("fetch %s: %d bytes, over the %d-byte limit", redact(u), resp.ContentLength, maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", redact(u), err)
	}
	if int64(len(body)) > maxBytes {
		return nil, nil, fmt.Errorf("fetch %s: over the %d-byte limit", redact(u), maxBytes)
	}
	return body, resp, nil
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact drops a URL's query and user info (a token must never be printed).
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL)"
	}
	p.User, p.RawQuery = nil, ""
	return p.String()
}

// checkRedirect follows at most MaxRedirects, over https, to hosts the
// entry's host serves downloads from or the policy allows. A token goes to
// the host it was given for only: Go's client would still send it from
// "127.0.0.1:443" to "127.0.0.1:8443", or to a subdomain, so it is
// dropped whenever the host (with its port) changes.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.lim.MaxRedirects {
		return fmt.Errorf("more than %d redirects", f.lim.MaxRedirects)
	}
	if req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %s refused: only https is fetched", redact(req.URL.String()))
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del("Authorization")
	}
	if digestChecked(req.Context()) {
		return nil // any https host, still address-checked when dialled (oci.go)
	}
	to := req.URL.Host
	for _, r := range via {
		if r.URL.Host == to {
			return nil
		}
	}
	hostname := strings.ToLower(req.URL.Hostname())
	for name, h := range hosts {
		if slices.Contains(h.downloads, hostname) || hostname == name {
			return nil
		}
	}
	if slices.ContainsFunc(f.o.Allow, func(g string) bool { return globAllows(g, hostname) }) {
		return nil
	}
	return fmt.Errorf("redirect to %s refused: host not allowed", redact(req.URL.String()))
}

// checkAddress refuses connections to loopback, link-local, private and
// unspecified addresses (the runner's or the App's network) unless the
// policy names the address, or the options allow loopback.
func (f *Fetcher) checkAddress(network, address string, _ syscall.RawConn) error {
	hostPart, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(hostPart)
	if ip == nil {
		return fmt.Errorf("refusing %s: not an IP address", address)
	}
	if ip.IsLoopback() && f.o.AllowLoopback {
		return nil
	}
	if !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast()) {
		return nil
	}
	if slices.ContainsFunc(f.o.Allow, func(g string) bool { h, _, _ := strings.Cut(g, "/"); return h == ip.String() }) {
		return nil
	}
	return fmt.Errorf("refusing to connect to %s: a loopback, link-local or private address (name it in remote.allow to allow it)", ip)
}
