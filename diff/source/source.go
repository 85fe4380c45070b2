// Package source reads one revision of a repository into memory: a local
// directory, a git revision read from git objects (never the work tree), or
// a tarball. Everything later renders from these in-memory trees, so nothing
// a pull request contains can reach a file outside its own repository.
//
// Every read is bounded: files and trees by Limits, git by its process —
// its output is read to the end or git is killed, never left blocked — and
// a repository that lacks an object of the revision (partial, shallow or
// damaged) is a *MissingObjectsError naming it, at once.
package source

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
	"testing/fstest"
)

// Tree is a read-only snapshot of one revision.
type Tree interface {
	fs.FS
	// Rev names the revision: a commit SHA, or a directory path.
	Rev() string
	// Files lists every regular file, sorted, slash-separated.
	Files() []string
	// Skipped lists the files left out of the tree and why: too large, a
	// link leaving the repository. What they hold is not checked, so the
	// pipeline reports them.
	Skipped() []Skip
}

// Skip is a file left out of a tree.
type Skip struct{ Path, Reason string }

func (s Skip) String() string { return s.Path + ": " + s.Reason }

// Limits bound what one tree may hold, so a hostile repository cannot
// exhaust memory.
type Limits struct {
	MaxFileBytes  int64 // larger files are left out (not an error)
	MaxTotalBytes int64 // a larger tree is an error
	MaxFiles      int   // more files is an error
}

// DefaultLimits fits any real manifest repository.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: 8 << 20, MaxTotalBytes: 512 << 20, MaxFiles: 200_000}
}

// LimitError says which bound a tree crossed.
type LimitError struct{ What string }

func (e *LimitError) Error() string { return "tree too large: " + e.What }

// Mem is an in-memory tree; build one with NewMem and Add.
type Mem struct {
	fsys    fstest.MapFS
	rev     string
	files   []string
	sortMu  sync.Mutex // guards sorting files on first use (Files)
	total   int64
	lim     Limits
	skipped []Skip
	aliases map[string]string // a symbolic link's path → the tree file it leads to
}

// NewMem returns an empty tree for revision rev.
func NewMem(rev string, lim Limits) *Mem {
	return &Mem{fsys: fstest.MapFS{}, rev: rev, lim: lim}
}

// Add puts a file in the tree. Paths are cleaned; anything that would leave
// the tree (absolute, "..") is refused.
func (m *Mem) Add(name string, data []byte) error {
	clean := path.Clean(name)
	if !fs.ValidPath(clean) || clean == "." {
		return fmt.Errorf("refusing path %q: it leaves the repository", name)
	}
	if m.lim.MaxFileBytes > 0 && int64(len(data)) > m.lim.MaxFileBytes {
		m.skip(clean, "%d bytes, over the %d-byte file limit", len(data), m.lim.MaxFileBytes)
		return nil
	}
	if _, dup := m.fsys[clean]; !dup {
		m.files = append(m.files, clean)
		if m.lim.MaxFiles > 0 && len(m.files) > m.lim.MaxFiles {
			return &LimitError{What: fmt.Sprintf("more than %d files", m.lim.MaxFiles)}
		}
	}
	m.total += int64(len(data))
	if m.lim.MaxTotalBytes > 0 && m.total > m.lim.MaxTotalBytes {
		return &LimitError{What: fmt.Sprintf("more than %d bytes", m.lim.MaxTotalBytes)}
	}
	m.fsys[clean] = &fstest.MapFile{Data: data, Mode: 0o444}
	return nil
}

func (m *Mem) Open(name string) (fs.File, error) { return m.fsys.Open(name) }
func (m *Mem) ReadFile(name string) ([]byte, error) {
	f, ok := m.fsys[name]
	if !ok || f == nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return f.Data, nil
}
func (m *Mem) Rev() string { return m.rev }

// Skipped implements Tree.
func (m *Mem) Skipped() []Skip { return m.skipped }

// addLink puts the file a symbolic link at name leads to (target, a file of
// the tree) in the tree under name too, and remembers it is the same file.
func (m *Mem) addLink(name, target string, data []byte) error {
	if err := m.Add(name, data); err != nil {
		return err
	}
	if m.aliases == nil {
		m.aliases = map[string]string{}
	}
	m.aliases[path.Clean(name)] = target
	return nil
}

// LinkTarget returns the tree file a symbolic link at name leads to: the
// same file, not a second copy of what it holds. ok is false for a file
// that is not a link.
func (m *Mem) LinkTarget(name string) (target string, ok bool) {
	target, ok = m.aliases[name]
	return target, ok
}

// skip records a file left out.
func (m *Mem) skip(path, format string, args ...any) {
	m.skipped = append(m.skipped, Skip{Path: path, Reason: fmt.Sprintf(format, args...)})
}
func (m *Mem) Files() []string {
	// Sorted once, under a lock: renders on the pool may ask first at the
	// same time, and the list is shared.
	m.sortMu.Lock()
	defer m.sortMu.Unlock()
	if !sort.StringsAreSorted(m.files) {
		sort.Strings(m.files)
	}
	return m.files
}

// Empty is a tree with no files, the base of a scan.
func Empty(rev string) Tree { return NewMem(rev, Limits{}) }

// resolveLink resolves a symlink at name with target within the tree; ok is
// false when the target leaves it (absolute, or too many "..").
func resolveLink(name, target string) (string, bool) {
	if path.IsAbs(target) {
		return "", false
	}
	p := path.Join(path.Dir(name), target)
	if !fs.ValidPath(p) || p == "." {
		return "", false
	}
	return p, true
}

var errLinkEscapes = errors.New("symbolic link leaves the repository")
