package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sourcegraph/go-diff/diff"
)

// Diff knows which lines of a pull request's files can carry a review
// comment on the new (RIGHT) side: the added and context lines inside the
// hunks GitHub shows. The zero Diff has no commentable lines.
type Diff struct {
	files map[string]map[int]diffLine
}

type diffLine struct {
	added bool
	text  string // the line's content without the diff prefix
}

// ParsePatches reads the patch field of GitHub's pull-request files API
// (path → bare hunks, no file headers). An empty patch — GitHub omits it
// for binary and large files — leaves that file with no commentable line.
func ParsePatches(files map[string]string) (Diff, error) {
	d := Diff{files: map[string]map[int]diffLine{}}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths) // the first error is the same on every run
	for _, path := range paths {
		patch := files[path]
		lines := map[int]diffLine{}
		d.files[path] = lines
		if strings.TrimSpace(patch) == "" {
			continue
		}
		hunks, err := diff.ParseHunks([]byte(patch))
		if err != nil {
			return Diff{}, fmt.Errorf("parse patch of %s: %w", path, err)
		}
		for _, h := range hunks {
			n, end := int(h.NewStartLine), int(h.NewStartLine+h.NewLines)
			// Lines past the header's count are not part of the hunk for
			// GitHub either (a trailing blank line of the patch, say).
			for _, l := range strings.Split(strings.TrimSuffix(string(h.Body), "\n"), "\n") {
				if n >= end {
					break
				}
				switch {
				case strings.HasPrefix(l, "+"):
					lines[n] = diffLine{added: true, text: l[1:]}
					n++
				case strings.HasPrefix(l, "-"), strings.HasPrefix(l, `\`):
					// Old side only, or "\ No newline at end of file".
				case strings.HasPrefix(l, " "):
					lines[n] = diffLine{text: l[1:]}
					n++
				default:
					// An empty line: a context line whose leading space
					// was trimmed on the way.
					lines[n] = diffLine{text: l}
					n++
				}
			}
		}
	}
	return d, nil
}

// Commentable reports whether line (1-based, new file) of path is inside a
// hunk on the RIGHT side, so that GitHub accepts a review comment there.
func (d Diff) Commentable(path string, line int) bool {
	_, ok := d.files[path][line]
	return ok
}

// added reports whether line of path was added by the pull request.
func (d Diff) added(path string, line int) bool {
	return d.files[path][line].added
}

// text returns the content of a commentable line.
func (d Diff) text(path string, line int) (string, bool) {
	l, ok := d.files[path][line]
	return l.text, ok
}
