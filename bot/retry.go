package bot

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// RetryOptions tune NewRetryTransport. The zero value is usable.
type RetryOptions struct {
	// MaxAttempts bounds the tries of one request, the first included.
	// Default 4.
	MaxAttempts int
	// BaseDelay is the first backoff after a 5xx or a timeout; it doubles
	// on each retry up to MaxDelay. Defaults 1 s and 30 s.
	BaseDelay, MaxDelay time.Duration
	// MaxWait is the longest a rate limit may make a request wait (GitHub's
	// Retry-After or x-ratelimit-reset). Longer waits are not taken: the
	// response goes back to the caller, so a job or a worker never stalls
	// for an hour. Default 90 s.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends. Default: a timer. Tests inject one
	// that records and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for x-ratelimit-reset. Default time.Now.
	Now func() time.Time
}

func (o RetryOptions) withDefaults() RetryOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 30 * time.Second
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 90 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewRetryTransport wraps base (nil: http.DefaultTransport) with bounded
// retries:
//   - 403 and 429 that carry Retry-After (GitHub's secondary rate limits),
//     or x-ratelimit-remaining: 0 with x-ratelimit-reset (the primary
//     limit), wait as told, for any method: GitHub refused the request
//     without acting on it. A 403 without those headers is a permission
//     error and goes back at once.
//   - 502, 503 and 504 back off exponentially for every method but POST;
//     500 and transport timeouts only for idempotent methods. A POST is
//     never sent twice here: a 5xx or a timeout may come after GitHub
//     created the check run or the review, so the caller looks for what
//     was created before it posts again (Publisher.Start lists the runs of
//     the head, syncComments the comments carrying our markers). A PATCH
//     sent twice at worst appends an annotation batch twice, which the next
//     run does not repeat.
//
// It sits below go-github on purpose: go-github v62, once it has seen a
// secondary rate limit, refuses every request locally for the Retry-After
// period, so retrying above it cannot work.
func NewRetryTransport(base http.RoundTripper, o RetryOptions) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &retryTransport{base: base, o: o.withDefaults()}
}

type retryTransport struct {
	base http.RoundTripper
	o    RetryOptions
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := replayableBody(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	backoff := t.o.BaseDelay
	for attempt := 1; ; attempt++ {
		r := req
		if body != nil {
			r = req.Clone(ctx)
			r.Body, err = body()
			if err != nil {
				return nil, err
			}
		}
		resp, err := t.base.RoundTrip(r)
		wait, retry := t.decide(req, resp, err, backoff)
		if !retry || attempt >= t.o.MaxAttempts {
			return resp, err
		}
		if resp != nil {
			// Drain a little so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if serr := t.o.Sleep(ctx, wait); serr != nil {
			return nil, serr
		}
		if wait == backoff {
			backoff = min(2*backoff, t.o.MaxDelay)
		}
	}
}

// decide says whether to retry and after how long.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, backoff time.Duration) (time.Duration, bool) {
	if err != nil {
		if req.Context().Err() != nil {
			return 0, false
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && idempotent(req.Method) {
			return backoff, true
		}
		return 0, false
	}
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusTooManyRequests:
		wait, ok := t.rateLimitWait(resp)
		if !ok || wait > t.o.MaxWait {
			return 0, false
		}
		return wait, true
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return backoff, req.Method != http.MethodPost
	case http.StatusInternalServerError:
		return backoff, idempotent(req.Method)
	}
	return 0, false
}

// rateLimitWait reads how long GitHub asks to wait: Retry-After (seconds
// or an HTTP date), else the primary limit's reset time when nothing is
// left. ok is false when the response is not a rate limit.
func (t *retryTransport) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if ra := strings.TrimSpace(resp.Header.Get("Retry-After")); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(ra); err == nil {
			return max(at.Sub(t.o.Now()), 0), true
		}
	}
	if resp.Header.Get("X-Ratelimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			// One more second: the reset is rounded down to the second.
			return max(time.Unix(reset, 0).Sub(t.o.Now()), 0) + time.Second, true
		}
	}
	return 0, false
}

func idempotent(method string) bool {
	switch method {
	// Not PATCH: a check-run update appends its annotations.
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// replayableBody returns a function giving a fresh copy of the request's
// body for each attempt, or nil when there is no body.
func replayableBody(req *http.Request) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		req.Body.Close() // each attempt sends a copy
		return req.GetBody, nil
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, nil
}

// MaybeApplied reports whether a failed request may nevertheless have
// been carried out by GitHub: a 5xx answer, or no answer at all (a
// timeout, a reset connection). A non-idempotent request is then looked
// for before it is sent again.
func MaybeApplied(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		return er.Response != nil && er.Response.StatusCode >= 500
	}
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return false // refused without acting
	}
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF)
}

// IsTransient reports whether err is GitHub being unavailable rather than
// refusing: a 5xx, a rate limit, a timeout or a broken connection. A job
// failing on one is tried again later, not concluded.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return true
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch c := er.Response.StatusCode; {
		case c >= 500, c == http.StatusTooManyRequests:
			return true
		case c == http.StatusForbidden:
			return er.Response.Header.Get("Retry-After") != "" || er.Response.Header.Get("X-Ratelimit-Remaining") == "0"
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false // the caller's own limit: timed_out, not an outage
	}
	return MaybeApplied(err)
}
