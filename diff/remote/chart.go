package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/glob"
)

// ChartRef names a chart as a kustomization's helmCharts entry does.
type ChartRef struct {
	// Repo is an HTTP chart repository ("https://charts.jetstack.io") or
	// an OCI registry path ("oci://ghcr.io/org/charts").
	Repo string
	Name string // "cert-manager"
	// Version is as written: "v1.16.1", "1.2.3", "", a range ("^1.2",
	// "~1.2", ">=1.0", "1.x") or, for OCI, a digest "sha256:…" (kustomize
	// hands it to `helm pull --version`).
	Version string
}

// String names the chart in messages: "cert-manager 1.2.3 from https://charts.jetstack.io".
func (r ChartRef) String() string {
	v := r.Version
	if v == "" {
		v = "(no version)"
	}
	return r.Name + " " + v + " from " + redact(r.Repo)
}

// Chart is a chart archive brought in.
type Chart struct {
	Ref ChartRef
	// Version is the exact version fetched (the index entry's, or the
	// OCI tag's or manifest's); "" when not pinned.
	Version string
	// Digest is "sha256:<hex>" of the archive (for OCI: the chart layer's
	// digest, the same thing).
	Digest string
	// Pinned is false for an empty version or a range: what the chart
	// renders can change without a pull request. Nothing is downloaded
	// then, and Archive is nil.
	Pinned bool
	// Archive is the chart .tgz as served: Helm's loader reads it, and
	// bounds what it unpacks.
	Archive []byte
	// URL is where the archive came from, without query or user info.
	URL string
}

// Bounds of what a chart repository or registry answers before the
// archive: real indexes reach tens of MiB (a repository of many charts
// and versions), manifests a few KiB.
const (
	maxIndexBytes    = 64 << 20
	maxManifestBytes = 4 << 20
)

var (
	// exactVersion is a semver 2.0 version, "v" allowed: what `helm pull
	// --version` matches exactly. "1.2" or "1.x" are ranges to Helm.
	exactVersion = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
		`(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?` +
		`(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`)
	sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	// chartName is what may follow the repository in a URL path: one
	// element, no traversal, no query.
	chartName = regexp.MustCompile(`^[a-z0-9A-Z]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$`)
)

// pinnedVersion reports whether v names one chart for good: an exact
// version (a repository could republish it, as a tag can move, but a pull
// request is what changes which one is asked) or a digest.
func pinnedVersion(v string) bool { return exactVersion.MatchString(v) || sha256Digest.MatchString(v) }

// chartRepo is a ChartRef's repository read: its URL (https, for OCI the
// registry's base) and the key the policy's globs match.
type chartRepo struct {
	oci  bool
	base *url.URL // https://host/path, no trailing slash
	key  string   // host/path/name, without port or scheme, for the policy's globs
	id   string   // scheme://host:port/path/name: one chart, for once()
}

// parseChartRepo checks r's repository: https:// or oci://, a host, no
// user info, query or dot segments, and a chart name of one element.
func parseChartRepo(r ChartRef) (chartRepo, error) {
	raw := strings.TrimSpace(r.Repo)
	scheme, rest, ok := strings.Cut(raw, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "https" && scheme != "oci") {
		return chartRepo{}, fmt.Errorf("chart %s: %w: only https:// and oci:// chart repositories are fetched (serve it over https, or vendor the chart into the repository and name it with chartHome)", r, ErrNotAllowed)
	}
	u, err := url.Parse("https://" + rest)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
		(strings.Trim(u.Path, "/") != "" && !validPath(strings.Trim(u.Path, "/"))) || strings.ContainsAny(rest, "\\") ||
		strings.Contains(strings.ToLower(rest), "%2e") {
		return chartRepo{}, fmt.Errorf("chart %s: the repository is not a plain https:// or oci:// URL (no credentials, query or . and .. elements); correct the helmCharts entry", r)
	}
	if !chartName.MatchString(r.Name) {
		return chartRepo{}, fmt.Errorf("chart %s: %q is not a chart name; correct the helmCharts entry", r, r.Name)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	key := strings.ToLower(u.Hostname()) + u.Path + "/" + r.Name
	return chartRepo{oci: scheme == "oci", base: u, key: key, id: scheme + "://" + strings.ToLower(u.Host) + u.Path + "/" + r.Name}, nil
}

// ChartAllowed reports whether r's repository may be asked: an https://
// or oci:// repository whose host/path/name the policy's remote.allow
// globs match (element by element, as for remote bases), or under one of
// the allowed URL prefixes.
func (f *Fetcher) ChartAllowed(r ChartRef) bool {
	cr, err := parseChartRepo(r)
	return err == nil && f.chartRepoAllowed(r, cr)
}

func (f *Fetcher) chartRepoAllowed(r ChartRef, cr chartRepo) bool {
	return glob.URLPrefix(f.o.Prefixes, strings.TrimSuffix(strings.TrimSpace(r.Repo), "/")+"/"+r.Name) || f.keyAllowed(cr.key)
}

// keyAllowed matches host/path against the policy's globs.
func (f *Fetcher) keyAllowed(key string) bool {
	return slices.ContainsFunc(f.o.Allow, func(g string) bool { return globAllows(g, key) })
}

// Chart fetches the archive of r: from an HTTP repository through its
// index, or from an OCI registry. A version that is not pinned fetches
// nothing and is no error: the caller reports it (render.unpinned). The
// same chart is fetched once per Fetcher, an index once per repository,
// and archives are cached by digest.
func (f *Fetcher) Chart(ctx context.Context, r ChartRef) (*Chart, error) {
	cr, err := parseChartRepo(r)
	if err != nil {
		return nil, err
	}
	if !f.chartRepoAllowed(r, cr) {
		allow := strings.TrimSuffix(cr.key, "/"+r.Name)
		return nil, fmt.Errorf("chart %s: its repository is %w: add %s to the policy's remote.allow (or vendor the chart into the repository)", r, ErrNotAllowed, allow)
	}
	if !pinnedVersion(r.Version) {
		return &Chart{Ref: r}, nil
	}
	return onceFor(f, "chart "+cr.id+"@"+r.Version, func() (*Chart, error) {
		ctx, cancel := context.WithTimeout(ctx, f.lim.Timeout)
		defer cancel()
		var c *Chart
		var err error
		if cr.oci {
			c, err = f.ociChart(ctx, r, cr)
		} else {
			c, err = f.repoChart(ctx, r, cr)
		}
		if err != nil {
			return nil, err
		}
		if err := f.holdBytes(int64(len(c.Archive))); err != nil {
			return nil, fmt.Errorf("chart %s: %w", r, err)
		}
		return c, nil
	})
}

// chartIndex is the part of a repository's index.yaml read: each chart's
// versions, where their archives are, and their digests.
type chartIndex struct {
	Entries map[string][]indexEntry `yaml:"entries"`
}

type indexEntry struct {
	Version string   `yaml:"version"`
	URLs    []string `yaml:"urls"`
	Digest  string   `yaml:"digest"`
}

// index fetches and reads a repository's index.yaml, once per Fetcher.
func (f *Fetcher) index(ctx context.Context, cr chartRepo) (*chartIndex, error) {
	u := cr.base.String() + "/index.yaml"
	// Shared by every chart of the repository: its errors name the
	// repository, and the chart asking names itself (repoChart).
	return onceFor(f, "chart index "+u, func() (*chartIndex, error) {
		body, status, err := f.get(ctx, u, "application/x-yaml, application/yaml, text/yaml, */*", "", maxIndexBytes)
		if err != nil {
			return nil, fmt.Errorf("the repository index: %w", err)
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("the repository has no index.yaml (HTTP %d); check the helmCharts entry's repo", status)
		}
		var idx chartIndex
		if err := yaml.Unmarshal(body, &idx); err != nil {
			return nil, fmt.Errorf("the repository index %s is not readable: %w", redact(u), err)
		}
		return &idx, nil
	})
}

// entry is the index entry of version: the same string, or the same but
// for a leading "v" (as Helm matches "1.2.3" with "v1.2.3").
func (idx *chartIndex) entry(name, version string) (indexEntry, bool) {
	versions := idx.Entries[name]
	if i := slices.IndexFunc(versions, func(e indexEntry) bool { return e.Version == version }); i >= 0 {
		return versions[i], true
	}
	bare := strings.TrimPrefix(version, "v")
	i := slices.IndexFunc(versions, func(e indexEntry) bool { return strings.TrimPrefix(e.Version, "v") == bare })
	if i < 0 {
		return indexEntry{}, false
	}
	return versions[i], true
}

// someVersions names up to five of a chart's versions, for an error that
// says what there is.
func someVersions(idx *chartIndex, name string) string {
	var vs []string
	for _, e := range idx.Entries[name] {
		if len(vs) == 5 {
			vs = append(vs, "…")
			break
		}
		vs = append(vs, e.Version)
	}
	if len(vs) == 0 {
		return "the index has no chart of that name"
	}
	return "the index has " + strings.Join(vs, ", ")
}

// repoChart fetches a chart from an HTTP repository: the entry of its
// version in the index, then the archive it points at, which must be on
// the repository's host or allowed itself, and match the index's digest.
func (f *Fetcher) repoChart(ctx context.Context, r ChartRef, cr chartRepo) (*Chart, error) {
	if sha256Digest.MatchString(r.Version) {
		return nil, fmt.Errorf("chart %s: a digest is a version of OCI registries only; name the chart's version from the repository index", r)
	}
	idx, err := f.index(ctx, cr)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", r, err)
	}
	e, ok := idx.entry(r.Name, r.Version)
	if !ok {
		return nil, fmt.Errorf("chart %s: no such version in the repository index (%s); correct the version", r, someVersions(idx, r.Name))
	}
	if len(e.URLs) == 0 {
		return nil, fmt.Errorf("chart %s: the index entry names no archive URL", r)
	}
	au, err := chartArchiveURL(cr.base, e.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("chart %s: the index's archive URL: %w", r, err)
	}
	if !strings.EqualFold(au.Host, cr.base.Host) && !f.keyAllowed(strings.ToLower(au.Hostname())+au.Path) && !glob.URLPrefix(f.o.Prefixes, au.String()) {
		return nil, fmt.Errorf("chart %s: the index points at an archive on %s, which is neither the repository's host %s nor in remote.allow (%w): add %s to remote.allow if that host is trusted",
			r, au.Host, cr.base.Host, ErrNotAllowed, strings.ToLower(au.Hostname()))
	}
	want, err := indexDigest(e.Digest)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", r, err)
	}
	src := redact(au.String())
	if want != "" {
		if data, ok := f.cachedChart(want); ok {
			return &Chart{Ref: r, Version: e.Version, Digest: want, Pinned: true, Archive: data, URL: src}, nil
		}
	}
	data, status, err := f.get(ctx, au.String(), "", "", f.lim.MaxArchiveBytes)
	if err != nil {
		return nil, fmt.Errorf("chart %s: the archive: %w", r, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("chart %s: the archive %s the index names is not there (HTTP %d); the repository is broken, ask its maintainers", r, src, status)
	}
	got := digestOf(data)
	if want != "" && got != want {
		return nil, fmt.Errorf("chart %s: the archive %s has digest %s, the index says %s: refusing it (the repository changed under the version, or the download was altered)", r, src, got, want)
	}
	if want != "" { // without a digest in the index, a later run could not find it
		f.cache.put("chart "+got, data)
	}
	return &Chart{Ref: r, Version: e.Version, Digest: got, Pinned: true, Archive: data, URL: src}, nil
}

// chartArchiveURL resolves an index's archive URL as Helm does: relative
// to the repository URL taken as a directory. Only https is fetched.
func chartArchiveURL(base *url.URL, ref string) (*url.URL, error) {
	rel, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", ref)
	}
	dir := *base
	dir.Path += "/"
	u := dir.ResolveReference(rel)
	if u.Scheme != "https" || u.User != nil {
		return nil, fmt.Errorf("%s: only https archives without credentials are fetched", redact(u.String()))
	}
	if p := strings.Trim(path.Clean("/"+u.Path), "/"); p != strings.Trim(u.Path, "/") {
		return nil, fmt.Errorf("%s: . and .. elements are not followed", redact(u.String()))
	}
	return u, nil
}

// indexDigest reads an index entry's digest: Helm writes the bare hex of
// the archive's sha256; "sha256:" is accepted too. "" when there is none.
func indexDigest(d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	if d == "" {
		return "", nil
	}
	if !strings.HasPrefix(d, "sha256:") {
		d = "sha256:" + d
	}
	if !sha256Digest.MatchString(d) {
		return "", errors.New("the index gives a digest that is not a sha256; the archive cannot be checked, ask the repository's maintainers")
	}
	return d, nil
}

// digestOf is "sha256:<hex>" of data.
func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// cachedChart is the archive of digest from the cache, checked again: a
// damaged copy is dropped and fetched anew, never rendered.
func (f *Fetcher) cachedChart(digest string) ([]byte, bool) {
	data, ok := f.cache.get("chart " + digest)
	if ok && digestOf(data) != digest {
		f.cache.drop("chart " + digest)
		return nil, false
	}
	return data, ok
}
