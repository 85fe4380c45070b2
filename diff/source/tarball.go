package source

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// maxLinkHops bounds how many symbolic links one path may pass through, as
// the kernel's ELOOP does (40 on Linux).
const maxLinkHops = 40

// Tarball reads a repository archive as GitHub serves it
// (GET /repos/{owner}/{repo}/tarball/{ref}): a gzip-compressed tar whose
// entries all sit under one top directory "owner-repo-<sha7>/", which is
// stripped. Only regular files are kept; symbolic links are resolved while
// they stay inside the tree and skipped otherwise, never followed on disk
// (nothing is written to disk). Absolute names and names with ".." are
// refused: GitHub never produces them, so the archive is not what it claims.
//
// Limits apply as for any tree (files over MaxFileBytes are skipped; more
// than MaxTotalBytes or MaxFiles is a *LimitError), and the decompressed
// stream itself is bounded, so that a gzip bomb, or an archive made mostly
// of skipped files, ends in a *LimitError instead of hours of inflating.
func Tarball(r io.Reader, rev string, lim Limits) (Tree, error) {
	t, sizes, err := readTarball(r, rev, lim)
	var le *LimitError
	if err != nil && errors.As(err, &le) {
		return nil, &OverLimitError{LimitError: le, Largest: largest(sizes, maxLargest)}
	}
	return t, err
}

// maxLargest is how many of the largest files an OverLimitError names.
const maxLargest = 5

// OverLimitError is a tree over its limits with the files that weigh the
// most, so that the author knows what to remove: a symbolic link to a
// large file counts once per link, as it is read once per link.
type OverLimitError struct {
	*LimitError
	Largest []FileSize // largest first
}

func (e *OverLimitError) Unwrap() error { return e.LimitError }

// FileSize is a path and the bytes it holds.
type FileSize struct {
	Path string
	Size int64
}

func largest(sizes map[string]int64, n int) []FileSize {
	out := make([]FileSize, 0, len(sizes))
	for p, sz := range sizes {
		out = append(out, FileSize{p, sz})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Size != out[j].Size {
			return out[i].Size > out[j].Size
		}
		return out[i].Path < out[j].Path
	})
	return out[:min(n, len(out))]
}

// readTarball is Tarball; sizes maps every file met so far (skipped ones
// and links included) to its size, for the error.
func readTarball(r io.Reader, rev string, lim Limits) (_ Tree, sizes map[string]int64, _ error) {
	sizes = map[string]int64{}
	gz, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, sizes, fmt.Errorf("read tarball %s: %w", rev, err)
	}
	defer gz.Close()
	// One gzip member, as GitHub writes: a stream of empty members after it
	// would otherwise be read forever without inflating a byte.
	gz.Multistream(false)
	// The tar reader must see EOF from the bound, not a short read: a
	// LimitError is returned by the counting reader itself.
	stream := &boundedReader{r: gz, left: streamLimit(lim)}
	tr := tar.NewReader(stream)

	m := NewMem(rev, lim)
	links := map[string]string{} // link path -> target as written
	hardLinks := map[string]string{}
	top := ""
	entries, maxEntries := 0, entryLimit(lim)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if le := stream.err; le != nil {
				return nil, sizes, le
			}
			return nil, sizes, fmt.Errorf("read tarball %s: %w", rev, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // GitHub's pax header naming the commit
		}
		entries++
		if maxEntries > 0 && entries > maxEntries {
			return nil, sizes, &LimitError{What: fmt.Sprintf("more than %d archive entries", maxEntries)}
		}
		rel, err := stripTop(h.Name, &top)
		if err != nil {
			return nil, sizes, fmt.Errorf("read tarball %s: %w", rev, err)
		}
		if rel == "" {
			continue // the top directory itself
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use '\x00'
			sizes[rel] = h.Size
			if lim.MaxFileBytes > 0 && h.Size > lim.MaxFileBytes {
				m.skip(rel, "%d bytes, over the %d-byte file limit", h.Size, lim.MaxFileBytes)
				continue // tr.Next discards the body, counted by stream
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				if le := stream.err; le != nil {
					return nil, sizes, le
				}
				return nil, sizes, fmt.Errorf("read tarball %s: %s: %w", rev, rel, err)
			}
			if err := m.Add(rel, data); err != nil {
				return nil, sizes, err
			}
		case tar.TypeSymlink:
			links[rel] = h.Linkname
		case tar.TypeLink:
			hardLinks[rel] = h.Linkname
		}
		// Directories, devices and FIFOs carry nothing to render.
	}
	// Drain the gzip trailer so that a truncated archive is an error, not a
	// silently partial tree.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		if le := stream.err; le != nil {
			return nil, sizes, le
		}
		return nil, sizes, fmt.Errorf("read tarball %s: %w", rev, err)
	}
	if err := addHardLinks(m, hardLinks, top); err != nil {
		return nil, sizes, err
	}
	for l := range links {
		if to, ok := resolve(l, links); ok {
			if sz, ok := sizes[to]; ok {
				sizes[l] = sz // read once more through the link
			}
		}
	}
	if err := addSymlinks(m, links); err != nil {
		return nil, sizes, err
	}
	return m, sizes, nil
}

// streamLimit bounds the decompressed archive: the tree itself, plus room
// for tar headers and for files skipped as too large, but not unboundedly
// more. Without a total limit it is still bounded, at 4 GiB.
func streamLimit(lim Limits) int64 {
	if lim.MaxTotalBytes <= 0 {
		return 4 << 30
	}
	return 4*lim.MaxTotalBytes + 1<<20
}

// entryLimit bounds archive entries of every type (directories and links
// included), which cost time and, for links, memory.
func entryLimit(lim Limits) int {
	if lim.MaxFiles <= 0 {
		return 0
	}
	return 4*lim.MaxFiles + 1024
}

// boundedReader fails with a LimitError once more than left bytes are read.
type boundedReader struct {
	r    io.Reader
	left int64
	err  error
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		b.err = &LimitError{What: "archive inflates to more than its size limit"}
		return 0, b.err
	}
	return n, err
}

// stripTop removes the archive's single top directory from name, learning
// it from the first entry. Every entry must be under it.
func stripTop(name string, top *string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	name = strings.TrimPrefix(name, "./")
	first, rest, _ := strings.Cut(name, "/")
	if *top == "" {
		*top = first
	}
	if first != *top {
		return "", fmt.Errorf("entry %q is outside the top directory %q", name, *top)
	}
	if rest == "" {
		return "", nil
	}
	clean := path.Clean(rest)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// checkName refuses names that would leave the tree if extracted.
func checkName(name string) error {
	if name == "" {
		return errors.New("entry with an empty name")
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return fmt.Errorf("refusing entry %q: absolute or malformed name", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Errorf("refusing entry %q: it leaves the repository", name)
		}
	}
	return nil
}

// addHardLinks copies the files that hard links name. Their targets are
// archive names (top directory included) of entries read before them.
func addHardLinks(m *Mem, hardLinks map[string]string, top string) error {
	for _, name := range sortedKeys(hardLinks) {
		target := hardLinks[name]
		rel, err := stripTop(target, &top)
		if err != nil || rel == "" {
			m.skip(name, "hard link outside the repository")
			continue
		}
		data, err := m.ReadFile(rel)
		if err != nil {
			m.skip(name, "hard link to a file not in the tree")
			continue
		}
		if err := m.Add(name, data); err != nil {
			return err
		}
	}
	return nil
}

// addSymlinks adds, for each symbolic link, the file it leads to, or every
// file under the directory it leads to, as long as each step of the way
// stays inside the tree.
func addSymlinks(m *Mem, links map[string]string) error {
	if len(links) == 0 {
		return nil
	}
	// Directory contents by directory, from the regular files only: links
	// into links are resolved by resolve below.
	files := append([]string(nil), m.Files()...)
	for _, name := range sortedKeys(links) {
		target, ok := resolve(name, links)
		if !ok {
			m.skip(name, "%v", errLinkEscapes)
			continue
		}
		if data, err := m.ReadFile(target); err == nil {
			if err := m.addLink(name, target, data); err != nil {
				return err
			}
			continue
		}
		// A directory: every regular file under it, found in sorted order.
		prefix := target + "/"
		i := sort.SearchStrings(files, prefix)
		found := false
		for ; i < len(files) && strings.HasPrefix(files[i], prefix); i++ {
			data, err := m.ReadFile(files[i])
			if err != nil {
				continue
			}
			found = true
			if err := m.addLink(name+"/"+strings.TrimPrefix(files[i], prefix), files[i], data); err != nil {
				return err
			}
		}
		if !found {
			m.skip(name, "broken symbolic link")
		}
	}
	return nil
}

// resolve follows the link at name through every link on the way, within
// the tree: it returns a path with no link in it, or false when a step
// leaves the tree or the links loop.
func resolve(name string, links map[string]string) (string, bool) {
	cur, ok := resolveLink(name, links[name])
	if !ok {
		return "", false
	}
	for hops := 0; hops < maxLinkHops; hops++ {
		// Find the first prefix of cur that is itself a link.
		parts := strings.Split(cur, "/")
		replaced := false
		for i := 1; i <= len(parts); i++ {
			prefix := strings.Join(parts[:i], "/")
			target, isLink := links[prefix]
			if !isLink {
				continue
			}
			next, ok := resolveLink(prefix, target)
			if !ok {
				return "", false
			}
			if i < len(parts) {
				next = next + "/" + strings.Join(parts[i:], "/")
			}
			cur, replaced = next, true
			break
		}
		if !replaced {
			return cur, true
		}
	}
	return "", false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
