package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/remote"
	"github.com/rbacguard/rbacguard/diff/source"
)

// A remote entry that the policy allows and that is pinned is fetched by
// package remote and mounted into the tree the overlay renders from, under
// RemoteDir; the entry is rewritten to the relative path of its copy, so
// that kustomize sees a local directory (or file) and never runs git. Its
// files are inputs like any other, and the commit it resolved to is part
// of the overlay's identity (Plan).

// RemoteDir is where fetched remote entries are mounted in the tree an
// overlay renders from; object locations under it are remote.
const RemoteDir = ".rbacguard-remote"

// Input is a remote entry an overlay rendered with.
type Input struct {
	Path string // the kustomization naming it
	Line int
	URL  string // the entry without its ref ("github.com/fluxcd/flux2/manifests/install")
	Ref  string // the ref asked for ("v2.4.0"; "" for a file)
	// Commit is the commit the ref named ("sha256:…" for a file).
	Commit string
	// Mount is the directory of the tree its files are under.
	Mount string
}

// Why a remote entry is not fetched.
const (
	whyRemoteForm     = "is a remote form rbacguard does not fetch (only https archives of github.com and gitlab.com repositories, and https file URLs; never git, ssh or file://); vendor it into the repository"
	whyRemoteNotAllow = "would be fetched from a host or owner the policy does not allow; add it to remote.allow (or vendor it into the repository)"
	whyUnpinned       = "names a branch or no ref: what it grants can change without a pull request; pin it to a tag or a commit"
	whyRemoteField    = "is a remote entry in a field rbacguard does not fetch for; vendor it into the repository"
)

func (o Options) newFetcher() *remote.Fetcher {
	ro := o.Remote
	ro.Prefixes = append(slices.Clone(ro.Prefixes), o.RemoteBases...)
	if len(ro.Allow) == 0 && len(ro.Prefixes) == 0 {
		return nil
	}
	return remote.New(ro)
}

// remote handles a remote entry of a loader field: fetched and mounted
// when allowed and pinned, cut out with the reason otherwise.
func (w *walker) remote(k *kustFile, field string, val, n *yaml.Node, v string) error {
	item := itemOf(val, n)
	if field != "resources" && field != "bases" && field != "components" {
		w.skip(k, val, item, n.Line, v, whyRemoteField)
		return nil
	}
	f := w.o.fetcher
	if f == nil {
		f = w.o.newFetcher()
	}
	ref, ok := remote.Parse(v)
	switch {
	case f == nil:
		w.skip(k, val, item, n.Line, v, whyRemote)
		return nil
	case !ok:
		w.skip(k, val, item, n.Line, v, whyRemoteForm)
		return nil
	case !f.Allowed(ref):
		w.skip(k, val, item, n.Line, v, whyRemoteNotAllow)
		return nil
	}
	got, err := f.Get(context.Background(), ref)
	if err != nil {
		w.skip(k, val, item, n.Line, v, "could not be fetched: "+err.Error())
		return nil
	}
	if !got.Pinned {
		w.skip(k, val, item, n.Line, v, whyUnpinned)
		w.c.skipped[len(w.c.skipped)-1].Unpinned = true
		return nil
	}
	mount := w.mount(got)
	target := path.Join(mount, ref.Path)
	if ref.File {
		target = path.Join(mount, path.Base(ref.URL))
	}
	if !w.dirs[target] && !w.exists(target) {
		return &Error{Path: k.path, Line: n.Line, Err: errors.New(ref.Name() + " at " + got.Commit + " has no such path")}
	}
	in := Input{Path: k.path, Line: n.Line, URL: ref.Name(), Ref: ref.Ref, Commit: got.Commit, Mount: mount}
	if at := w.c.atEntry(Skipped{Path: k.path, Line: n.Line}); at.Path != k.path { // named by a fetched base: at its entry
		in.Path, in.Line = at.Path, at.Line
	}
	w.c.remotes = append(w.c.remotes, in)
	n.Value = relPath(k.dir, target)
	k.edited, w.fetched[n] = true, true
	return w.scalar(k, field, val, n, true)
}

// mount adds a fetched tree to the walker's tree, once per commit.
func (w *walker) mount(got *remote.Fetched) string {
	dir := path.Join(RemoteDir, got.Ref.Host, got.Ref.Repo, strings.ReplaceAll(got.Commit, ":", "-"))
	if got.Ref.File {
		dir = path.Join(RemoteDir, "files", strings.ReplaceAll(got.Commit, ":", "-"))
	}
	m := w.c.tree
	if _, ok := m.mounts[dir]; ok {
		return dir
	}
	if m.mounts == nil {
		m.mounts = map[string]source.Tree{}
	}
	m.mounts[dir] = got.Tree
	m.files = nil
	for d := dir; d != "." && !w.dirs[d]; d = path.Dir(d) {
		w.dirs[d] = true
	}
	for _, f := range got.Tree.Files() {
		for d := path.Dir(path.Join(dir, f)); d != "." && !w.dirs[d]; d = path.Dir(d) {
			w.dirs[d] = true
		}
	}
	return dir
}

// relPath is the relative path from directory from to to.
func relPath(from, to string) string {
	if from == "." {
		return to
	}
	fe, te := strings.Split(from, "/"), strings.Split(to, "/")
	i := 0
	for i < len(fe) && i < len(te) && fe[i] == te[i] {
		i++
	}
	parts := slices.Repeat([]string{".."}, len(fe)-i)
	return path.Join(append(parts, te[i:]...)...)
}

// mounted is a tree with fetched remote trees mounted under RemoteDir,
// and rendered charts under HelmDir.
type mounted struct {
	source.Tree
	mounts map[string]source.Tree
	files  []string
}

func (m *mounted) lookup(name string) (source.Tree, string, bool) {
	if !strings.HasPrefix(name, RemoteDir+"/") && !strings.HasPrefix(name, HelmDir+"/") {
		return nil, "", false
	}
	for dir, t := range m.mounts {
		if name == dir {
			return t, ".", true
		}
		if rest, ok := strings.CutPrefix(name, dir+"/"); ok {
			return t, rest, true
		}
	}
	return nil, "", false
}

func (m *mounted) Open(name string) (fs.File, error) {
	if t, rel, ok := m.lookup(name); ok {
		return t.Open(rel)
	}
	return m.Tree.Open(name)
}

func (m *mounted) Files() []string {
	if len(m.mounts) == 0 {
		return m.Tree.Files()
	}
	if m.files == nil {
		m.files = slices.Clone(m.Tree.Files())
		for dir, t := range m.mounts {
			for _, f := range t.Files() {
				m.files = append(m.files, dir+"/"+f)
			}
		}
		sort.Strings(m.files)
	}
	return m.files
}

// sameRemotes compares the remote entries of two closures by what they
// fetched: the same URL at the same commit.
func sameRemotes(a, b []Input) bool {
	return slices.EqualFunc(a, b, func(x, y Input) bool { return x.URL == y.URL && x.Commit == y.Commit })
}

// leavesMount reports whether p, named by a kustomization in dir, leaves
// the fetched repository dir is in: a remote base reaches nothing of the
// repository that names it, nor of another fetched one.
func (m *mounted) leavesMount(dir, p string) bool {
	if m == nil || !strings.HasPrefix(dir, RemoteDir+"/") {
		return false
	}
	for mount := range m.mounts {
		if dir == mount || strings.HasPrefix(dir, mount+"/") {
			return p != mount && !strings.HasPrefix(p, mount+"/")
		}
	}
	return true
}

// atEntry places what is skipped inside a fetched remote entry at the
// entry's line of the repository, named after it: the fetched files are
// in no repository a reviewer can open.
func (c *closure) atEntry(s Skipped) Skipped {
	if !strings.HasPrefix(s.Path, RemoteDir+"/") {
		return s
	}
	for _, in := range c.remotes {
		if rest, ok := strings.CutPrefix(s.Path, in.Mount+"/"); ok {
			s.What = fmt.Sprintf("%s (in %s %s, %s:%d)", s.What, in.URL, in.Version(), rest, s.Line)
			s.Path, s.Line, s.EndLine = in.Path, in.Line, in.Line
			return s
		}
	}
	return s
}

// Version is the ref an entry was fetched at, or its short commit.
func (in Input) Version() string {
	if in.Ref != "" {
		return in.Ref
	}
	return in.Short()
}

// Short is the first 12 characters of the commit (or digest).
func (in Input) Short() string {
	c := strings.TrimPrefix(in.Commit, "sha256:")
	return c[:min(len(c), 12)]
}

// Display names file p of the tree as the file of the remote repository
// it is, at the version fetched ("github.com/org/base/config/rbac.yaml@v1.1.0");
// ok is false when p is not under the entry's mount.
func (in Input) Display(p string) (_ string, ok bool) {
	rest, ok := strings.CutPrefix(p, in.Mount+"/")
	if !ok {
		return "", false
	}
	if strings.HasPrefix(in.Commit, "sha256:") { // a file: its URL
		return in.URL, true
	}
	repo := path.Dir(strings.TrimPrefix(in.Mount, RemoteDir+"/")) // host/owner/repo
	return path.Join(repo, rest) + "@" + in.Version(), true
}
