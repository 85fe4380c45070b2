// Package glob matches the patterns users write in flags, Action inputs and
// the policy file: overlay path globs ("overlays/**", "clusters/*/prod"),
// name globs ("system:*"), and allowed URL prefixes for remote bases. One
// implementation serves every stage, so a pattern means the same wherever
// it is written. Every matcher runs in linear time: a pattern cannot make
// it backtrack exponentially.
package glob

import (
	"fmt"
	"path"
	"strings"
)

// Path reports whether the slash-separated path p matches pattern: each
// element is matched with path.Match ("*", "?", "[a-z]" within one
// element), and an element "**" matches any number of elements, none
// included. Leading "./" and trailing "/" are ignored on both sides.
func Path(pattern, p string) bool {
	pat, segs := split(pattern), split(p)
	return wildcard(len(pat), len(segs),
		func(i int) bool { return pat[i] == "**" },
		func(i, j int) bool { ok, _ := path.Match(pat[i], segs[j]); return ok })
}

// ValidPath reports a malformed path glob ("overlays/[prod").
func ValidPath(pattern string) error {
	for _, s := range split(pattern) {
		if _, err := path.Match(s, ""); err != nil {
			return fmt.Errorf("glob %q: %w", pattern, err)
		}
	}
	return nil
}

// Select reports whether p passes include and exclude path globs: it
// matches an include glob (or there are none) and no exclude glob.
func Select(include, exclude []string, p string) bool {
	if len(include) > 0 && !anyPath(include, p) {
		return false
	}
	return !anyPath(exclude, p)
}

func anyPath(globs []string, p string) bool {
	for _, g := range globs {
		if Path(g, p) {
			return true
		}
	}
	return false
}

func split(p string) []string {
	p = strings.TrimSpace(p)
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	p = strings.TrimRight(p, "/")
	if p == "" || p == "." {
		return []string{"."}
	}
	return strings.Split(path.Clean(p), "/")
}

// Name reports whether s matches a name glob, where "*" is any run of
// characters ("/" and ":" included, so "pods/*" matches "pods/exec") and
// "?" one character; everything else is literal and case-sensitive.
func Name(pattern, s string) bool {
	pat, str := []rune(pattern), []rune(s)
	return wildcard(len(pat), len(str),
		func(i int) bool { return pat[i] == '*' },
		func(i, j int) bool { return pat[i] == '?' || pat[i] == str[j] })
}

// wildcard is the classic linear matcher over abstract units: star(i) says
// pattern unit i matches any run of units, one(i, j) whether pattern unit i
// matches unit j of the subject. Only the last star backtracks.
func wildcard(np, ns int, star func(i int) bool, one func(i, j int) bool) bool {
	i, j := 0, 0
	lastStar, lastJ := -1, 0
	for j < ns {
		switch {
		case i < np && star(i):
			lastStar, lastJ = i, j
			i++
		case i < np && one(i, j):
			i++
			j++
		case lastStar >= 0:
			lastJ++
			i, j = lastStar+1, lastJ
		default:
			return false
		}
	}
	for i < np && star(i) {
		i++
	}
	return i == np
}

// URLPrefix reports whether url starts with one of the allowed prefixes at
// a boundary ("/", ":", "?", "#", "=", or the end of either), so that the
// prefix "https://github.com/acme" does not allow
// "https://github.com/acme-evil". A URL with "." or ".." segments, encoded
// dots or backslashes is refused: "https://github.com/acme/../evil" starts
// with an allowed prefix but may name another owner.
func URLPrefix(prefixes []string, url string) bool {
	if dotSegment(url) {
		return false
	}
	for _, pre := range prefixes {
		if pre == "" || !strings.HasPrefix(url, pre) {
			continue
		}
		if len(url) == len(pre) || strings.ContainsAny(pre[len(pre)-1:], "/:?#=") || strings.ContainsAny(url[len(pre):len(pre)+1], "/:?#") {
			return true
		}
	}
	return false
}

func dotSegment(url string) bool {
	if strings.ContainsAny(url, "\\") || strings.Contains(strings.ToLower(url), "%2e") {
		return true
	}
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	for _, seg := range strings.FieldsFunc(url, func(r rune) bool { return r == '/' || r == ':' }) {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
