package app

import (
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The App says which release it is: on /metrics, and to GitHub in the
// User-Agent of every request, the installation-token requests included.
func TestBuildInfo(t *testing.T) {
	ua := &seenUserAgents{next: http.DefaultTransport, seen: map[string]int{}}
	e := newEnv(t, func(c *Config) {
		c.Version = "v1.2.3"
		c.Transport = ua
	})
	if got := e.counter("rbacguard_build_info", "version", "v1.2.3", "goversion", runtime.Version()); got != 1 {
		t.Errorf("rbacguard_build_info{version=v1.2.3} = %v, want 1", got)
	}

	e.seedPR(prNumber, headSHA)
	if code, body := e.deliver("pull_request", "d-1", fixture(t, "pull_request_opened.json", nil), nil); code != http.StatusAccepted {
		t.Fatalf("status %d %s", code, body)
	}
	e.wait(1)
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if len(ua.seen) != 1 || ua.seen["rbacguard/v1.2.3"] == 0 {
		t.Errorf("User-Agents sent to GitHub: %v, want only rbacguard/v1.2.3", ua.seen)
	}
	if ua.tokens == 0 {
		t.Error("no installation-token request went through the transport")
	}
}

// seenUserAgents counts the User-Agent headers that reach the network.
type seenUserAgents struct {
	next   http.RoundTripper
	mu     sync.Mutex
	seen   map[string]int
	tokens int
}

func (s *seenUserAgents) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.seen[r.UserAgent()]++
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/access_tokens") {
		s.tokens++
	}
	s.mu.Unlock()
	return s.next.RoundTrip(r)
}
