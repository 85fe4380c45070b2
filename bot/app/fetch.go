package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/diff/source"
)

// fetchTree reads owner/repo at sha from its tarball into memory.
//
// GitHub answers GET /repos/{o}/{r}/tarball/{ref} with a 302 to a codeload
// link that carries its own token; the link is followed without our
// Authorization header (the installation transport would add it to any
// host). A 200 with the archive itself (GitHub Enterprise, proxies) is read
// directly.
func (s *Server) fetchTree(ctx context.Context, gh *github.Client, owner, repo, sha string) (source.Tree, error) {
	req, err := gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/tarball/%s", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(sha)), nil)
	if err != nil {
		return nil, err
	}
	req = req.WithContext(ctx)
	noFollow := *gh.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download tarball of %s/%s@%s: %w", owner, repo, sha7(sha), err)
	}
	if resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusTemporaryRedirect {
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return nil, fmt.Errorf("download tarball of %s/%s@%s: redirect without a location", owner, repo, sha7(sha))
		}
		dl, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err = s.cl.download().Do(dl)
		if err != nil {
			// url.Error quotes the link, whose query is a credential.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, fmt.Errorf("download tarball of %s/%s@%s from the archive link: %w", owner, repo, sha7(sha), err)
		}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		// GitHub builds archives on demand and answers 404 for a commit
		// it has not indexed yet (just pushed): worth waiting for, like a
		// 5xx. RetryFor bounds the wait for one that never appears.
		return nil, &notReadyError{what: fmt.Sprintf("download tarball of %s/%s@%s: %s", owner, repo, sha7(sha), resp.Status)}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("download tarball of %s/%s@%s: %s", owner, repo, sha7(sha), resp.Status)
	}
	// The compressed archive is bounded too: Tarball bounds what it
	// inflates to, this bounds what is read at all.
	// The archive is compressed, but carries a 512-byte header per entry:
	// the slack keeps a tree within its limits from failing here, where no
	// file could be named.
	limit := s.cfg.Limits.MaxTotalBytes + 1<<20
	if s.cfg.Limits.MaxTotalBytes <= 0 {
		limit = 1 << 30
	}
	body := &cappedReader{r: resp.Body, left: limit}
	t, err := source.Tarball(body, sha, s.cfg.Limits)
	if err != nil {
		if body.over {
			return nil, fmt.Errorf("tarball of %s/%s@%s: %w", owner, repo, sha7(sha), &source.LimitError{What: fmt.Sprintf("archive over %d bytes", limit)})
		}
		return nil, fmt.Errorf("tarball of %s/%s@%s: %w", owner, repo, sha7(sha), err)
	}
	return t, nil
}

// cappedReader ends with an error after left bytes.
type cappedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.over = true
		return 0, errors.New("archive too large")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// notReadyError is a tarball GitHub could not serve yet.
type notReadyError struct{ what string }

func (e *notReadyError) Error() string { return e.what + " (not available yet)" }
