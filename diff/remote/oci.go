package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Charts in OCI registries are pulled with the distribution protocol spoken
// here over the Fetcher's client, not with a registry library: those bring
// docker's client and credential helpers into the binary, and only three
// requests are needed — a manifest, a token when the registry asks for
// one, and a blob.
const (
	ociManifestType = "application/vnd.oci.image.manifest.v1+json"
	// helmChartLayer is the layer holding the chart .tgz; Helm before 3.7
	// pushed it as a plain tar+gzip.
	helmChartLayer       = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	helmLegacyChartLayer = "application/tar+gzip"
	// ociVersionAnnotation is the chart version Helm writes in the
	// manifest (what a pull by digest reports).
	ociVersionAnnotation = "org.opencontainers.image.version"
)

// ociRepository is a repository name the distribution spec allows:
// lower-case elements separated by "/", nothing that could leave the
// /v2/<name>/ path.
var ociRepository = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type ociManifest struct {
	MediaType   string            `json:"mediaType"`
	Config      ociDescriptor     `json:"config"`
	Layers      []ociDescriptor   `json:"layers"`
	Annotations map[string]string `json:"annotations"`
}

// digestChecked marks a request whose answer is checked against a digest
// known before it is asked (an OCI blob). Registries answer blob requests
// with a redirect to a storage or CDN host that differs between registries
// and over time (ghcr.io to pkg-containers.githubusercontent.com, Docker
// Hub to a Cloudflare host, Artifact Registry to storage.googleapis.com);
// that host cannot change what is accepted, so checkRedirect lets such a
// request follow an https redirect to any host. The dial still refuses
// loopback, link-local and private addresses, and no token follows.
type digestCheckedKey struct{}

func withDigestChecked(ctx context.Context) context.Context {
	return context.WithValue(ctx, digestCheckedKey{}, true)
}

func digestChecked(ctx context.Context) bool { v, _ := ctx.Value(digestCheckedKey{}).(bool); return v }

// ociSession pulls from one registry repository: r's registry host and
// repository path, and the pull token once the registry gave one.
type ociSession struct {
	f     *Fetcher
	ref   ChartRef
	host  string // host[:port]
	repo  string // org/charts/name
	token string // sent to host only; never printed
}

// ociChart pulls r from its registry: the manifest of its tag or digest,
// then the chart layer, checked against the manifest's digest.
func (f *Fetcher) ociChart(ctx context.Context, r ChartRef, cr chartRepo) (*Chart, error) {
	s := &ociSession{f: f, ref: r, host: cr.base.Host, repo: strings.TrimPrefix(cr.base.Path+"/"+r.Name, "/")}
	if !ociRepository.MatchString(s.repo) {
		return nil, fmt.Errorf("chart %s: %q is not an OCI repository name (lower case, elements separated by /); correct the helmCharts entry", r, s.repo)
	}
	m, tag, err := s.manifest(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(m.Layers, func(d ociDescriptor) bool {
		return d.MediaType == helmChartLayer || d.MediaType == helmLegacyChartLayer
	})
	if i < 0 {
		return nil, fmt.Errorf("chart %s: the registry's artifact has no Helm chart layer (%s); is it a chart?", r, helmChartLayer)
	}
	layer := m.Layers[i]
	if !sha256Digest.MatchString(layer.Digest) {
		return nil, fmt.Errorf("chart %s: the chart layer's digest %q is not a sha256", r, layer.Digest)
	}
	if layer.Size > f.lim.MaxArchiveBytes {
		return nil, fmt.Errorf("chart %s: the chart is %d bytes, over the %d-byte limit", r, layer.Size, f.lim.MaxArchiveBytes)
	}
	version := cmpOr(m.Annotations[ociVersionAnnotation], strings.ReplaceAll(tag, "_", "+"))
	src := "oci://" + s.host + "/" + s.repo + "@" + layer.Digest
	if data, ok := f.cachedChart(layer.Digest); ok {
		return &Chart{Ref: r, Version: version, Digest: layer.Digest, Pinned: true, Archive: data, URL: src}, nil
	}
	data, status, err := s.get(ctx, "/blobs/"+layer.Digest, "", f.lim.MaxArchiveBytes, true)
	if err != nil {
		return nil, fmt.Errorf("chart %s: the chart layer: %w", r, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("chart %s: the registry lost the chart layer %s (HTTP %d); ask its maintainers", r, layer.Digest, status)
	}
	if got := digestOf(data); got != layer.Digest {
		return nil, fmt.Errorf("chart %s: the chart layer has digest %s, the manifest says %s: refusing it", r, got, layer.Digest)
	}
	f.cache.put("chart "+layer.Digest, data)
	return &Chart{Ref: r, Version: version, Digest: layer.Digest, Pinned: true, Archive: data, URL: src}, nil
}

// manifest fetches the manifest of the version: a digest as it is (and
// checked), a tag as Helm writes it ("+" is "_" in a tag), with or
// without a leading "v" as Helm matches versions. tag is the one found.
func (s *ociSession) manifest(ctx context.Context) (m ociManifest, tag string, err error) {
	refs := []string{s.ref.Version}
	if !sha256Digest.MatchString(s.ref.Version) {
		t := strings.ReplaceAll(s.ref.Version, "+", "_")
		alt := "v" + t
		if bare, ok := strings.CutPrefix(t, "v"); ok {
			alt = bare
		}
		refs = []string{t, alt}
	}
	for _, ref := range refs {
		body, status, err := s.get(ctx, "/manifests/"+ref, ociManifestType, maxManifestBytes, false)
		if err != nil {
			return m, "", fmt.Errorf("chart %s: the manifest: %w", s.ref, err)
		}
		if status == http.StatusNotFound {
			continue
		}
		if ref == s.ref.Version && sha256Digest.MatchString(ref) && digestOf(body) != ref {
			return m, "", fmt.Errorf("chart %s: the registry answered a manifest of another digest, %s: refusing it", s.ref, digestOf(body))
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return m, "", fmt.Errorf("chart %s: the manifest is not readable: %w", s.ref, err)
		}
		if m.MediaType != "" && m.MediaType != ociManifestType {
			return m, "", fmt.Errorf("chart %s: the registry answered a %s, not an OCI manifest; is it a chart?", s.ref, m.MediaType)
		}
		return m, ref, nil
	}
	return m, "", fmt.Errorf("chart %s: no such version in the registry (tag %s not found); correct the version", s.ref, strings.Join(refs, " or "))
}

// get asks the registry for /v2/<repo><p>. A 401 is answered once by
// asking the realm it names for an anonymous pull token; the token is sent
// to the registry host only (checkRedirect drops it on a redirect).
// digestChecked marks a request whose answer is checked by digest.
func (s *ociSession) get(ctx context.Context, p, accept string, maxBytes int64, checked bool) ([]byte, int, error) {
	u := "https://" + s.host + "/v2/" + s.repo + p
	rctx := ctx
	if checked {
		rctx = withDigestChecked(ctx)
	}
	for {
		body, resp, err := s.f.request(rctx, u, accept, s.token, maxBytes, http.StatusUnauthorized, http.StatusNotFound)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			return body, status, err
		}
		if s.token != "" {
			return nil, 0, fmt.Errorf("%s: the registry refused its own anonymous token: only public charts are fetched (vendor a private chart into the repository)", redact(u))
		}
		s.token, err = s.f.registryToken(ctx, resp.Header.Get("WWW-Authenticate"), s.repo)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", redact(u), err)
		}
	}
}

// registryToken asks a registry's token realm for an anonymous pull token,
// once per realm, service and scope. The realm is the registry's own
// answer, like a redirect: https only and address-checked; nothing is
// sent to it but the service and scope.
func (f *Fetcher) registryToken(ctx context.Context, challenge, repo string) (string, error) {
	params, ok := bearerChallenge(challenge)
	if !ok {
		return "", fmt.Errorf("the registry asks for credentials (%s): only public charts are fetched (vendor a private chart into the repository)", strings.SplitN(strings.TrimSpace(challenge), " ", 2)[0])
	}
	u, err := url.Parse(params["realm"])
	if err != nil || u.Scheme != "https" {
		return "", fmt.Errorf("the registry's token realm %s is not an https URL", redact(params["realm"]))
	}
	q := u.Query()
	if params["service"] != "" {
		q.Set("service", params["service"])
	}
	q.Set("scope", cmpOr(params["scope"], "repository:"+repo+":pull"))
	u.RawQuery = q.Encode()
	return onceFor(f, "registry token "+u.String(), func() (string, error) {
		body, status, err := f.get(ctx, u.String(), "application/json", "", 1<<20)
		if err != nil {
			return "", fmt.Errorf("the registry's token: %w", err)
		}
		var t struct {
			Token       string `json:"token"`
			AccessToken string `json:"access_token"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &t) != nil || cmpOr(t.Token, t.AccessToken) == "" {
			return "", fmt.Errorf("the registry's token realm %s gave no anonymous token (HTTP %d): only public charts are fetched", redact(u.String()), status)
		}
		return cmpOr(t.Token, t.AccessToken), nil
	})
}

// bearerChallenge reads `Bearer realm="…",service="…",scope="…"`.
func bearerChallenge(h string) (map[string]string, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	params := map[string]string{}
	for rest = strings.TrimLeft(rest, " ,"); rest != ""; rest = strings.TrimLeft(rest, " ,") {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if q, ok := strings.CutPrefix(v, `"`); ok {
			val, after, ok := strings.Cut(q, `"`)
			if !ok {
				return nil, false
			}
			params[k], rest = val, after
			continue
		}
		val, after, _ := strings.Cut(v, ",")
		params[k], rest = strings.TrimSpace(val), after
	}
	return params, params["realm"] != ""
}
