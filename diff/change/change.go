// Package change answers "what did the change touch?" once for every stage:
// which files it added, removed or modified (render plans which overlays to
// render from them), which head lines it added or modified (findings point
// at them), and the same lines as a unified diff in the shape of GitHub's
// patches (checks parses GitHub's; a test holds both to agree).
package change

import (
	"bytes"
	"io/fs"
	"strings"
	"sync"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/rbacguard/rbacguard/diff/source"
)

// Set is the change from base to head. Files are compared when first asked;
// a file's line diff is computed once, when first asked.
type Set struct {
	base, head source.Tree
	once       sync.Once
	files      map[string]bool
	mu         sync.Mutex
	lines      map[string]map[int]bool
}

// Between returns the change from base to head.
func Between(base, head source.Tree) *Set {
	return &Set{base: base, head: head, lines: map[string]map[int]bool{}}
}

// Files returns the paths added, removed or modified, as a set.
func (s *Set) Files() map[string]bool {
	s.once.Do(func() {
		s.files = map[string]bool{}
		for _, f := range s.base.Files() {
			a, _ := fs.ReadFile(s.base, f)
			b, err := fs.ReadFile(s.head, f)
			if err != nil || !bytes.Equal(a, b) {
				s.files[f] = true
			}
		}
		for _, f := range s.head.Files() {
			if _, err := fs.Stat(s.base, f); err != nil {
				s.files[f] = true
			}
		}
	})
	return s.files
}

// Line reports whether line (1-based) of path in head is new or changed.
func (s *Set) Line(path string, line int) bool {
	return s.changedLines(path)[line]
}

// FirstLine returns the first new or changed line of path in head from
// line from to line to (to 0: the end of the file), 0 when there is none:
// the file is unchanged, gone from head, or only lost lines there.
func (s *Set) FirstLine(path string, from, to int) int {
	first := 0
	for l := range s.changedLines(path) {
		if l >= from && (to == 0 || l <= to) && (first == 0 || l < first) {
			first = l
		}
	}
	return first
}

// changedLines returns the new or changed lines of path in head, computed
// once.
func (s *Set) changedLines(path string) map[int]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines, ok := s.lines[path]
	if !ok {
		lines = map[int]bool{}
		a, b, changed := s.read(path)
		if changed {
			for _, op := range difflib.NewMatcher(a, b).GetOpCodes() {
				if op.Tag == 'r' || op.Tag == 'i' {
					for j := op.J1; j < op.J2; j++ {
						lines[j+1] = true
					}
				}
			}
		}
		s.lines[path] = lines
	}
	return lines
}

// Patch returns path's change as bare unified-diff hunks with three lines
// of context, as GitHub's pull-request files API gives them ("" when the
// file is unchanged or gone from head).
func (s *Set) Patch(path string) string {
	a, b, changed := s.read(path)
	if !changed {
		return ""
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: a, B: b, Context: 3})
	if err != nil {
		return ""
	}
	// difflib writes "---"/"+++" headers only when given file names; the
	// hunks it writes are GitHub's shape already.
	return strings.TrimSuffix(text, "\n")
}

// read returns path's lines at base and head, and whether they differ;
// changed is false when head has no such file.
func (s *Set) read(path string) (a, b []string, changed bool) {
	head, err := fs.ReadFile(s.head, path)
	if err != nil {
		return nil, nil, false
	}
	base, _ := fs.ReadFile(s.base, path) // a new file: every line is added
	if bytes.Equal(base, head) {
		return nil, nil, false
	}
	return splitLines(base), splitLines(head), true
}

func splitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}
