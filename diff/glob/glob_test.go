package glob

import (
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"overlays/prod", "overlays/prod", true},
		{"overlays/*", "overlays/prod", true},
		{"overlays/*", "overlays/prod/eu", false},
		{"overlays/**", "overlays/prod/eu", true},
		{"overlays/**", "overlays", true},
		{"**/prod", "clusters/eu/prod", true},
		{"**/prod", "prod", true},
		{"clusters/*/prod", "clusters/eu/prod", true},
		{"clusters/[ab]*", "clusters/alpha", true},
		{"clusters/[ab]*", "clusters/gamma", false},
		{"./overlays/prod/", "overlays/prod", true},
		{".", ".", true},
		{"*", ".", true},
		{"**", ".", true},
		{"Overlays/prod", "overlays/prod", false},
	} {
		if got := Path(tc.pattern, tc.path); got != tc.want {
			t.Errorf("Path(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
	if err := ValidPath("overlays/[prod"); err == nil {
		t.Error("ValidPath accepted an unclosed class")
	}
}

func TestSelect(t *testing.T) {
	in, ex := []string{"overlays/**"}, []string{"overlays/sandbox/**"}
	for p, want := range map[string]bool{"overlays/prod": true, "overlays/sandbox/a": false, "base": false} {
		if got := Select(in, ex, p); got != want {
			t.Errorf("Select(%q) = %v, want %v", p, got, want)
		}
	}
	if !Select(nil, nil, "anything") {
		t.Error("no globs select everything")
	}
}

func TestName(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"system:*", "system:serviceaccounts:kube-system", true},
		{"pods/*", "pods/exec", true},
		{"?et", "get", true},
		{"get", "Get", false},
		{"*", "", true},
	} {
		if got := Name(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Name(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	// Linear: a pathological pattern returns at once.
	if Name(strings.Repeat("*a", 5000)+"b", strings.Repeat("a", 20000)) {
		t.Error("pathological pattern matched")
	}
}

func TestURLPrefix(t *testing.T) {
	allowed := []string{"https://github.com/acme", "git@github.com:acme/"}
	for url, want := range map[string]bool{
		"https://github.com/acme/base?ref=v1":  true,
		"https://github.com/acme":              true,
		"https://github.com/acme-evil/base":    false,
		"https://github.com/acme/../evil/base": false,
		"https://github.com/acme/%2e%2e/evil":  false,
		"git@github.com:acme/base.git":         true,
		"https://gitlab.com/acme/base":         false,
		`https://github.com/acme\..\evil`:      false,
	} {
		if got := URLPrefix(allowed, url); got != want {
			t.Errorf("URLPrefix(%q) = %v, want %v", url, got, want)
		}
	}
}
