package source

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
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
		return nil, err
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
	if err := catBlobs(ctx, repo, want, blobs); err != nil {
		return nil, err
	}
	paths := map[string]string{} // path -> oid, for resolving links
	for _, e := range entries {
		paths[e.path] = e.oid
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

// catBlobs reads many blobs through one `git cat-file --batch` process.
func catBlobs(ctx context.Context, repo string, oids []string, into map[string][]byte) error {
	if len(oids) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "git", "-C", repo, "cat-file", "--batch")
	var stdin bytes.Buffer
	for _, o := range oids {
		stdin.WriteString(o + "\n")
	}
	cmd.Stdin = &stdin
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r := bufio.NewReader(out)
	for range oids {
		header, err := r.ReadString('\n')
		if err != nil {
			_ = cmd.Wait()
			return fmt.Errorf("git cat-file: %w", err)
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			_ = cmd.Wait()
			return fmt.Errorf("git cat-file: unexpected %q", strings.TrimSpace(header))
		}
		size, _ := strconv.Atoi(f[2])
		data := make([]byte, size+1) // content plus the trailing newline
		if _, err := io.ReadFull(r, data); err != nil {
			_ = cmd.Wait()
			return fmt.Errorf("git cat-file: %w", err)
		}
		into[f[0]] = data[:size]
	}
	return cmd.Wait()
}
