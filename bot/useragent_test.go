package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The Action's requests name the release that made them.
func TestAction_UserAgent(t *testing.T) {
	for _, tc := range []struct{ version, want string }{
		{"v1.2.3", "rbacguard/v1.2.3"},
		{"devel (commit 998128f, modified)", "rbacguard/devel (commit 998128f, modified)"},
		{"", "rbacguard"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			var got string
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.UserAgent()
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"id": 1}`))
			}))
			defer ts.Close()
			a := &Action{Env: ActionEnv{APIURL: ts.URL}, Version: tc.version, HTTPClient: ts.Client()}
			c, err := a.client()
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Repositories.Get(context.Background(), "o", "r"); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("User-Agent %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUserAgentTransport(t *testing.T) {
	var got string
	ts := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.UserAgent() }))
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL, nil)
	req.Header.Set("User-Agent", "go-github/v62")
	resp, err := NewUserAgentTransport(http.DefaultTransport, "rbacguard/v1.2.3").RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "rbacguard/v1.2.3" {
		t.Errorf("User-Agent %q, want rbacguard/v1.2.3", got)
	}
	if req.UserAgent() != "go-github/v62" {
		t.Errorf("the caller's request was changed: User-Agent %q", req.UserAgent())
	}
}
