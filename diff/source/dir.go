package source

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Dir reads the directory at root into memory. The .git directory is left
// out; symbolic links are followed only while they stay inside root.
func Dir(root string, lim Limits) (Tree, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("read directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("read directory %s: not a directory", root)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	m := NewMem(root, lim)
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		return addFile(m, abs, rel)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// WorkTree reads the files git knows of in a work tree (tracked, plus
// untracked ones that .gitignore does not exclude), as they are on disk.
// Paths are relative to the repository's top directory.
func WorkTree(ctx context.Context, repo string, lim Limits) (Tree, error) {
	top, err := Git(ctx, repo, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	root := strings.TrimSpace(string(top))
	out, err := Git(ctx, root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	m := NewMem("working tree", lim)
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		if err := addFile(m, root, rel); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// addFile reads root/rel into m, following a symbolic link only when its
// target stays inside root.
func addFile(m *Mem, root, rel string) error {
	p := filepath.Join(root, filepath.FromSlash(rel))
	link := "" // the tree file a symbolic link leads to
	info, err := os.Lstat(p)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // deleted in the work tree but still in the index
		}
		return err
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			m.skip(rel, "broken symbolic link")
			return nil
		}
		inside, err := filepath.Rel(root, target)
		if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) || filepath.IsAbs(inside) {
			m.skip(rel, "%v", errLinkEscapes)
			return nil
		}
		info, err = os.Stat(target)
		if err != nil {
			return err
		}
		p = target
		if info.Mode().IsRegular() {
			link = filepath.ToSlash(inside)
		}
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	if m.lim.MaxFileBytes > 0 && info.Size() > m.lim.MaxFileBytes {
		m.skip(rel, "%d bytes, over the %d-byte file limit", info.Size(), m.lim.MaxFileBytes)
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if link != "" {
		return m.addLink(rel, link, data)
	}
	return m.Add(rel, data)
}

// Git runs git in dir without a terminal prompt and returns its standard
// output. Its error carries git's message, with any credentials a remote
// URL holds redacted.
func Git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := gitCommand(ctx, dir, args...)
	stderr := &boundedBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", args[0], urlCredentials.ReplaceAllString(msg, "://[redacted]@"))
	}
	return out, nil
}

// gitCommand is git in dir without a terminal prompt. When ctx ends git is
// killed, and Wait returns within gitWaitDelay even if a child git started
// still holds its output open. A fetch over HTTP that stalls (under 1 KB/s
// for a minute) ends instead of waiting for a server that went away.
func gitCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0",
		"GIT_HTTP_LOW_SPEED_LIMIT=1000", "GIT_HTTP_LOW_SPEED_TIME=60")
	cmd.WaitDelay = gitWaitDelay
	return cmd
}

const gitWaitDelay = 5 * time.Second

// urlCredentials finds user:password@ in URLs of git's messages.
var urlCredentials = regexp.MustCompile(`://[^/\s:@]*(:[^/\s@]*)?@`)
