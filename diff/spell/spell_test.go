package spell

import (
	"slices"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"secrets", "secrets", 0}, {"secretz", "secrets", 1}, {"exce", "exec", 2}, {"", "abc", 3}, {"kitten", "sitting", 3}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNear(t *testing.T) {
	if got := Near("exce", []string{"attach", "exec", "log"}); !slices.Equal(got, []string{"exec"}) {
		t.Errorf("Near = %v, want [exec]", got)
	}
}
