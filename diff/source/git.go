package source

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// GitRev reads revision rev of the repository at repo from git objects. The
// work tree, the index, untracked and ignored files play no part: the tree
// is exactly what the commit holds. Paths are relative to the repository's
// top directory.
func GitRev(ctx context.Context, repo, rev string, lim Limits) (Tree, error) {
	sha, err := ResolveRev(ctx, repo, rev)
	if err != nil {
		return nil, err
	}
	// -l adds sizes so that large blobs are skipped without being read.
	out, err := Git(ctx, repo, "ls-tree", "-r", "-z", "-l", "--full-tree", sha)
	if err != nil {
		return nil, fmt.Errorf("revision %s: %w%s", rev, err, damagedHint)
	}
	type entry struct {
		mode, oid, path string
		size            int64
	}
	var entries []entry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		// "<mode> SP <type> SP <object> SP+ <size> TAB <path>"
		meta, p, ok := strings.Cut(string(rec), "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 4 || f[1] != "blob" {
			continue // submodules (commit) are not part of this repository
		}
		size, _ := strconv.ParseInt(f[3], 10, 64)
		entries = append(entries, entry{mode: f[0], oid: f[2], path: p, size: size})
	}
	m := NewMem(sha, lim)
	blobs := map[string][]byte{}
	var want []string
	for _, e := range entries {
		if lim.MaxFileBytes > 0 && e.size > lim.MaxFileBytes {
			m.skip(e.path, "%d bytes, over the %d-byte file limit", e.size, lim.MaxFileBytes)
			continue
		}
		want = append(want, e.oid)
	}
	paths := map[string]string{} // path -> oid, for resolving links
	names := map[string]string{} // oid -> a path, for errors
	for _, e := range entries {
		paths[e.path] = e.oid
		if _, ok := names[e.oid]; !ok {
			names[e.oid] = e.path
		}
	}
	// Blobs another tree of this process already holds are shared.
	want = slices.DeleteFunc(want, func(oid string) bool {
		data, ok := sharedBlobs.get(repo + "\x00" + oid)
		if ok {
			blobs[oid] = data
		}
		return ok
	})
	if err := catBlobs(ctx, repo, rev, want, names, blobs); err != nil {
		return nil, err
	}
	for _, oid := range want {
		sharedBlobs.put(repo+"\x00"+oid, blobs[oid])
	}
	for _, e := range entries {
		data, ok := blobs[e.oid]
		if !ok {
			continue
		}
		if e.mode == "120000" { // symbolic link: the blob is its target
			target, inside := resolveLink(e.path, string(data))
			oid, found := paths[target]
			if !inside || !found {
				m.skip(e.path, "%v", errLinkEscapes)
				continue
			}
			if data, ok = blobs[oid]; !ok {
				continue
			}
			if err := m.addLink(e.path, target, data); err != nil {
				return nil, err
			}
			continue
		}
		if err := m.Add(e.path, data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ResolveRev turns a revision name into a full commit SHA.
func ResolveRev(ctx context.Context, repo, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("invalid revision %q", rev)
	}
	out, err := Git(ctx, repo, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		// A name that resolves to an object the repository lacks (a
		// shallow or partial clone, a damaged one) is not a typo.
		if named, err := Git(ctx, repo, "rev-parse", "--verify", "--quiet", "--end-of-options", rev); err == nil {
			sha := strings.TrimSpace(string(named))
			if _, err := Git(ctx, repo, "cat-file", "-e", sha); err != nil {
				return "", &MissingObjectsError{Rev: rev, Objects: []string{sha}, Paths: map[string]string{sha: "the commit"}}
			}
		}
		if shallow, _ := Git(ctx, repo, "rev-parse", "--is-shallow-repository"); strings.TrimSpace(string(shallow)) == "true" {
			return "", fmt.Errorf("%q is neither a directory nor a git revision of %s, whose clone is shallow: "+
				"if %s lies before where its history stops, fetch the history (git fetch --unshallow origin, or actions/checkout with fetch-depth: 0) and run again", rev, repo, rev)
		}
		return "", fmt.Errorf("%q is neither a directory nor a git revision of %s", rev, repo)
	}
	return strings.TrimSpace(string(out)), nil
}

// MergeBase returns the best common ancestor of a and b, the base GitHub's
// own "Files changed" view compares against.
func MergeBase(ctx context.Context, repo, a, b string) (string, error) {
	out, err := Git(ctx, repo, "merge-base", "--end-of-options", a, b)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// catBlobs reads many blobs through one `git cat-file --batch` process;
// paths names each oid for errors. It never leaves git blocked: git reports
// a missing object and goes on writing the ones after it, so the output is
// read to the end, and on any other surprise git is killed before it is
// waited for (a reader that stops early would leave it blocked on a full
// pipe forever, at no CPU).
func catBlobs(ctx context.Context, repo, rev string, oids []string, paths map[string]string, into map[string][]byte) error {
	if len(oids) == 0 {
		return nil
	}
	ctx, kill := context.WithCancel(ctx)
	defer kill()
	cmd := gitCommand(ctx, repo, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader(strings.Join(oids, "\n") + "\n")
	stderr := &boundedBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	missing, readErr := readBatch(bufio.NewReader(out), len(oids), into)
	if readErr != nil {
		kill()
	}
	waitErr := cmd.Wait()
	switch {
	case readErr != nil || waitErr != nil:
		// git's own words name the object and the pack (a corrupt pack,
		// an unreadable object); ours only say where the stream broke.
		var lines []string
		for l := range strings.Lines(stderr.String()) {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		msg := strings.Join(lines, "; ")
		if msg == "" {
			msg = cmp.Or(readErr, waitErr).Error()
		}
		return fmt.Errorf("revision %s: git cat-file: %s%s", rev, msg, damagedHint)
	case len(missing) > 0:
		return &MissingObjectsError{Rev: rev, Objects: missing, Paths: paths}
	}
	return nil
}

// readBatch reads n answers of `git cat-file --batch` into into and
// returns the objects git reported missing.
func readBatch(r *bufio.Reader, n int, into map[string][]byte) (missing []string, err error) {
	for range n {
		header, err := r.ReadString('\n')
		if err != nil {
			return missing, err
		}
		f := strings.Fields(header)
		switch {
		case len(f) == 2 && (f[1] == "missing" || f[1] == "ambiguous"):
			missing = append(missing, f[0])
			continue
		case len(f) != 3:
			return missing, fmt.Errorf("unexpected %q", strings.TrimSpace(header))
		}
		size, err := strconv.Atoi(f[2])
		if err != nil || size < 0 {
			return missing, fmt.Errorf("unexpected %q", strings.TrimSpace(header))
		}
		data := make([]byte, size+1) // content plus the trailing newline
		if _, err := io.ReadFull(r, data); err != nil {
			return missing, err
		}
		into[f[0]] = data[:size]
	}
	return missing, nil
}

// MissingObjectsError says which objects of a revision the repository
// lacks: a partial clone (--filter), a shallow fetch, a damaged one.
type MissingObjectsError struct {
	Rev     string
	Objects []string
	Paths   map[string]string // oid -> a path of the revision that holds it
}

func (e *MissingObjectsError) Error() string {
	named := make([]string, 0, min(len(e.Objects), 5))
	for _, o := range e.Objects[:min(len(e.Objects), 5)] {
		if p := e.Paths[o]; p != "" {
			o += " (" + p + ")"
		}
		named = append(named, o)
	}
	more := ""
	if n := len(e.Objects) - len(named); n > 0 {
		more = fmt.Sprintf(" and %d more", n)
	}
	return fmt.Sprintf("revision %s: the repository lacks %d object(s) it needs: %s%s%s",
		e.Rev, len(e.Objects), strings.Join(named, ", "), more, damagedHint)
}

// damagedHint says what to do about a repository that cannot give an
// object: fetch it whole again.
const damagedHint = "; the clone is partial, shallow or damaged: fetch it whole (git fetch --refetch origin, " +
	"or actions/checkout with fetch-depth: 0 and no filter) and run again"

// boundedBuffer keeps the first max bytes written to it: enough of git's
// message, never all of a runaway one.
type boundedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string { return b.buf.String() }
