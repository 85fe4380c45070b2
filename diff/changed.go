package diff

import (
	"bytes"
	"io/fs"
	"sync"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/rbacguard/rbacguard/diff/source"
)

// changedLines answers which head lines a change added or modified, file by
// file, computing each file's line diff once and only when asked. Findings
// use it to point at the line that caused them.
type changedLines struct {
	base, head source.Tree
	mu         sync.Mutex
	files      map[string]map[int]bool
}

func newChangedLines(base, head source.Tree) *changedLines {
	return &changedLines{base: base, head: head, files: map[string]map[int]bool{}}
}

// Changed reports whether line (1-based) of path in head is new or changed.
func (c *changedLines) Changed(path string, line int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	lines, ok := c.files[path]
	if !ok {
		lines = c.diff(path)
		c.files[path] = lines
	}
	return lines[line]
}

func (c *changedLines) diff(path string) map[int]bool {
	head, err := fs.ReadFile(c.head, path)
	if err != nil {
		return nil
	}
	base, _ := fs.ReadFile(c.base, path) // a new file: every line is added
	if bytes.Equal(base, head) {
		return nil
	}
	a, b := splitLines(base), splitLines(head)
	out := map[int]bool{}
	m := difflib.NewMatcher(a, b)
	for _, op := range m.GetOpCodes() {
		if op.Tag == 'r' || op.Tag == 'i' {
			for j := op.J1; j < op.J2; j++ {
				out[j+1] = true
			}
		}
	}
	return out
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
