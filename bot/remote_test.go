package bot

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The Action fetches remote bases from github.com and gitlab.com unless
// the policy says otherwise, and sends its token to github.com's API only
// when the token is github.com's.
func TestActionRemoteDefaults(t *testing.T) {
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"pull_request":{"number":7,"base":{"sha":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"head":{"sha":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}},"repository":{"full_name":"acme/platform"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		api       string
		wantToken bool
	}{
		{"", true},
		{"https://api.github.com", true},
		{"https://ghes.example.com/api/v3", false},
	} {
		a := &Action{Env: ActionEnv{EventName: "pull_request", EventPath: event, Repository: "acme/platform", APIURL: tc.api,
			Inputs: ActionInputs{Token: "t0ken"}}}
		p, err := a.parse()
		if err != nil {
			t.Fatal(err)
		}
		ro := p.opts.Render.Remote
		if !slices.Equal(ro.Allow, []string{"github.com", "gitlab.com"}) {
			t.Errorf("remote.allow = %v, want github.com and gitlab.com", ro.Allow)
		}
		if got := ro.Tokens["github.com"] == "t0ken"; got != tc.wantToken {
			t.Errorf("API %q: token sent to github.com = %v, want %v", tc.api, got, tc.wantToken)
		}
	}
}
