package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// fetchDepth is how much history a shallow checkout gets when a commit is
// missing: enough for the merge base of any ordinary pull request.
const fetchDepth = 1000

// ShallowError says which commits the checkout lacks and how to fix the
// workflow.
type ShallowError struct {
	Missing []string // SHAs, or "merge base of A and B"
	Cause   error
}

func (e *ShallowError) Error() string {
	return fmt.Sprintf("the checkout lacks %s and fetching %s from origin failed (%v): "+
		"set `fetch-depth: 0` on the actions/checkout step (`uses: actions/checkout@v4` … `with: fetch-depth: 0`) "+
		"so that rbacguard can read the base, the head and their merge base from git objects",
		strings.Join(e.Missing, ", "), pluralWord(len(e.Missing), "it", "them"), e.Cause)
}

func (e *ShallowError) Unwrap() error { return e.Cause }

// gitRunner runs git in one repository; the fetch is done at most once.
type gitRunner struct {
	dir     string
	fetched bool
}

func (g *gitRunner) run(ctx context.Context, args ...string) (string, error) {
	out, err := source.Git(ctx, g.dir, args...)
	return strings.TrimSpace(string(out)), err
}

func (g *gitRunner) hasCommit(ctx context.Context, sha string) bool {
	_, err := g.run(ctx, "cat-file", "-e", "--end-of-options", sha+"^{commit}")
	return err == nil
}

// ensure makes every sha (validated hexadecimal) present. When one is
// missing, all of them are fetched from origin — once per run — so that a
// commit present only as a shallow tip gets its history too (the merge
// base needs it).
func (g *gitRunner) ensure(ctx context.Context, shas ...string) error {
	var missing []string
	for _, s := range shas {
		if !g.hasCommit(ctx, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := g.fetch(ctx, shas...); err != nil {
		return &ShallowError{Missing: missing, Cause: err}
	}
	for _, s := range missing {
		if !g.hasCommit(ctx, s) {
			return &ShallowError{Missing: []string{s}, Cause: fmt.Errorf("origin did not send it")}
		}
	}
	return nil
}

// fetch runs `git fetch --no-tags [--depth=N] origin <sha>…` once. The
// depth is only given to a shallow repository: on a full clone it would
// make the repository shallow.
func (g *gitRunner) fetch(ctx context.Context, shas ...string) error {
	if g.fetched {
		return fmt.Errorf("already fetched once")
	}
	g.fetched = true
	args := []string{"fetch", "--no-tags", "--quiet"}
	if out, err := g.run(ctx, "rev-parse", "--is-shallow-repository"); err == nil && out == "true" {
		args = append(args, "--depth="+strconv.Itoa(fetchDepth))
	}
	args = append(args, "origin")
	for _, s := range shas {
		if !IsSHA(s) {
			return fmt.Errorf("refusing to fetch %q: not a commit SHA", s)
		}
		args = append(args, s)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	_, err := g.run(ctx, args...)
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("git fetch from origin took more than %s", fetchTimeout)
	}
	return err
}

// fetchTimeout bounds the one fetch a run makes: a remote that never
// answers must not hold the job forever.
const fetchTimeout = 10 * time.Minute

// mergeBase is the base of a pull request's diff, as GitHub's Files
// changed shows it. In a shallow checkout the history may stop before it:
// one fetch of both commits with more depth, then give up clearly.
func (g *gitRunner) mergeBase(ctx context.Context, base, head string) (string, error) {
	mb, err := source.MergeBase(ctx, g.dir, base, head)
	if err == nil {
		return mb, nil
	}
	what := []string{fmt.Sprintf("the merge base of %s and %s", report.ShortRev(base), report.ShortRev(head))}
	if ferr := g.fetch(ctx, base, head); ferr != nil {
		return "", &ShallowError{Missing: what, Cause: fmt.Errorf("%v; %v", err, ferr)}
	}
	mb, err = source.MergeBase(ctx, g.dir, base, head)
	if err != nil {
		return "", &ShallowError{Missing: what, Cause: err}
	}
	return mb, nil
}

// readFile reads the regular file at path p of commit rev from git
// objects, never the work tree. found is false when the commit has no such
// file, or has something else there (a directory, a symbolic link, a
// submodule). A file over max bytes is an error.
func (g *gitRunner) readFile(ctx context.Context, rev, p string, max int64) (data []byte, found bool, err error) {
	if !IsSHA(rev) {
		return nil, false, fmt.Errorf("refusing to read %s at %q: not a commit SHA", p, rev)
	}
	// ls-tree -z: "<mode> <type> <object>\t<path>\0", nothing when absent.
	out, err := source.Git(ctx, g.dir, "ls-tree", "-z", rev, "--", p)
	if err != nil {
		return nil, false, fmt.Errorf("read %s at %s: %w", p, report.ShortRev(rev), err)
	}
	meta, _, ok := strings.Cut(string(out), "\t")
	fields := strings.Fields(meta)
	if !ok || len(fields) != 3 || fields[0] == "120000" || fields[1] != "blob" {
		return nil, false, nil
	}
	oid := fields[2]
	size, err := g.run(ctx, "cat-file", "-s", oid)
	if err != nil {
		return nil, false, fmt.Errorf("read %s at %s: %w", p, report.ShortRev(rev), err)
	}
	if n, err := strconv.ParseInt(size, 10, 64); err != nil || n > max {
		return nil, false, fmt.Errorf("read %s at %s: %s bytes, over the %d-byte limit", p, report.ShortRev(rev), size, max)
	}
	// Not g.run: trimming would move every line number.
	data, err = source.Git(ctx, g.dir, "cat-file", "blob", oid)
	if err != nil {
		return nil, false, fmt.Errorf("read %s at %s: %w", p, report.ShortRev(rev), err)
	}
	return data, true, nil
}
