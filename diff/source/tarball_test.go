package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// entry is one archive member for the test archives.
type entry struct {
	name, body, link string
	typ              byte
}

func file(name, body string) entry { return entry{name: name, body: body, typ: tar.TypeReg} }
func symlink(name, target string) entry {
	return entry{name: name, link: target, typ: tar.TypeSymlink}
}
func dir(name string) entry { return entry{name: name, typ: tar.TypeDir} }

// githubArchive builds an archive the way GitHub does: a pax global header
// with the commit, then everything under "owner-repo-sha7/".
func githubArchive(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mtime := time.Unix(1_700_000_000, 0)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "0123456789abcdef"}, Format: tar.FormatPAX}))
	for _, e := range entries {
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: 0o644, ModTime: mtime}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		must(tw.WriteHeader(h))
		if e.typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			must(err)
		}
	}
	must(tw.Close())
	must(gz.Close())
	return buf.Bytes()
}

const top = "acme-app-0123456/"

func readAll(t *testing.T, tree Tree) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range tree.Files() {
		b, err := fs.ReadFile(tree, f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		out[f] = string(b)
	}
	return out
}

func TestTarball(t *testing.T) {
	lim := Limits{MaxFileBytes: 100, MaxTotalBytes: 1000, MaxFiles: 20}
	tests := []struct {
		name        string
		entries     []entry
		want        map[string]string
		wantSkipped []string
	}{
		{
			name: "github shape, top directory stripped",
			entries: []entry{
				dir(top), dir(top + "base/"),
				file(top+"base/kustomization.yaml", "resources: [role.yaml]\n"),
				file(top+"base/role.yaml", "kind: Role\n"),
				file(top+"README.md", "hello\n"),
			},
			want: map[string]string{
				"README.md":               "hello\n",
				"base/kustomization.yaml": "resources: [role.yaml]\n",
				"base/role.yaml":          "kind: Role\n",
			},
		},
		{
			name: "file over the size limit is skipped",
			entries: []entry{
				dir(top),
				file(top+"big.yaml", strings.Repeat("x", 101)),
				file(top+"small.yaml", "a: 1\n"),
			},
			want:        map[string]string{"small.yaml": "a: 1\n"},
			wantSkipped: []string{"big.yaml: 101 bytes, over the 100-byte file limit"},
		},
		{
			name: "symbolic links inside the tree are resolved, others skipped",
			entries: []entry{
				dir(top),
				file(top+"common/role.yaml", "kind: Role\n"),
				symlink(top+"prod/role.yaml", "../common/role.yaml"),
				symlink(top+"prod/chain.yaml", "role.yaml"),
				symlink(top+"shared", "common"),
				symlink(top+"via-dir.yaml", "shared/role.yaml"),
				symlink(top+"passwd", "/etc/passwd"),
				symlink(top+"prod/escape", "../../outside"),
				symlink(top+"loop-a", "loop-b"),
				symlink(top+"loop-b", "loop-a"),
				symlink(top+"dangling", "missing.yaml"),
			},
			want: map[string]string{
				"common/role.yaml": "kind: Role\n",
				"prod/role.yaml":   "kind: Role\n",
				"prod/chain.yaml":  "kind: Role\n",
				"shared/role.yaml": "kind: Role\n",
				"via-dir.yaml":     "kind: Role\n",
			},
			wantSkipped: []string{
				"dangling: broken symbolic link",
				"loop-a: symbolic link leaves the repository",
				"loop-b: symbolic link leaves the repository",
				"passwd: symbolic link leaves the repository",
				"prod/escape: symbolic link leaves the repository",
			},
		},
		{
			name: "hard link to an earlier file",
			entries: []entry{
				dir(top),
				file(top+"a.yaml", "a: 1\n"),
				{name: top + "b.yaml", link: top + "a.yaml", typ: tar.TypeLink},
			},
			want: map[string]string{"a.yaml": "a: 1\n", "b.yaml": "a: 1\n"},
		},
		{
			name: "devices and fifos are ignored",
			entries: []entry{
				dir(top),
				{name: top + "fifo", typ: tar.TypeFifo},
				{name: top + "dev", typ: tar.TypeChar},
				file(top+"a.yaml", "a: 1\n"),
			},
			want: map[string]string{"a.yaml": "a: 1\n"},
		},
		{
			name:    "empty archive",
			entries: nil,
			want:    map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, err := Tarball(bytes.NewReader(githubArchive(t, tc.entries...)), "0123456789", lim)
			if err != nil {
				t.Fatalf("Tarball: %v", err)
			}
			if tree.Rev() != "0123456789" {
				t.Errorf("Rev = %q", tree.Rev())
			}
			if diff := cmp.Diff(tc.want, readAll(t, tree)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			var skipped []string
			for _, sk := range tree.Skipped() {
				skipped = append(skipped, sk.String())
			}
			if diff := cmp.Diff(tc.wantSkipped, skipped); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTarball_Errors(t *testing.T) {
	lim := Limits{MaxFileBytes: 100, MaxTotalBytes: 250, MaxFiles: 3}
	tests := []struct {
		name      string
		archive   func(t *testing.T) []byte
		wantLimit bool
		wantErr   string
	}{
		{
			name:    "dot-dot name",
			archive: func(t *testing.T) []byte { return githubArchive(t, dir(top), file(top+"../evil", "x")) },
			wantErr: "leaves the repository",
		},
		{
			name:    "absolute name",
			archive: func(t *testing.T) []byte { return githubArchive(t, file("/etc/cron.d/x", "x")) },
			wantErr: "absolute",
		},
		{
			name: "second top directory",
			archive: func(t *testing.T) []byte {
				return githubArchive(t, dir(top), file(top+"a", "x"), file("other-dir/b", "y"))
			},
			wantErr: "outside the top directory",
		},
		{
			name: "too many files",
			archive: func(t *testing.T) []byte {
				return githubArchive(t, dir(top), file(top+"a", "1"), file(top+"b", "2"), file(top+"c", "3"), file(top+"d", "4"))
			},
			wantLimit: true,
		},
		{
			name: "too many bytes",
			archive: func(t *testing.T) []byte {
				return githubArchive(t, dir(top), file(top+"a", strings.Repeat("a", 100)), file(top+"b", strings.Repeat("b", 100)), file(top+"c", strings.Repeat("c", 100)))
			},
			wantLimit: true,
		},
		{
			name: "gzip bomb",
			archive: func(t *testing.T) []byte {
				// 8 MiB of zeros compress to a few KiB; the file is over
				// the size limit, so only the stream bound stops it.
				return githubArchive(t, dir(top), file(top+"zeros", string(make([]byte, 8<<20))))
			},
			wantLimit: true,
		},
		{
			name: "too many entries",
			archive: func(t *testing.T) []byte {
				es := []entry{dir(top)}
				for i := 0; i < 4*3+1024+1; i++ {
					es = append(es, dir(top+strings.Repeat("d", 1+i%50)+"/"+string(rune('a'+i%26))+"/"))
				}
				return githubArchive(t, es...)
			},
			wantLimit: true,
		},
		{
			name:    "not gzip",
			archive: func(*testing.T) []byte { return []byte("<html>502 Bad Gateway</html>") },
			wantErr: "read tarball",
		},
		{
			name: "truncated",
			archive: func(t *testing.T) []byte {
				b := githubArchive(t, dir(top), file(top+"a", strings.Repeat("a", 90)))
				return b[:len(b)-12]
			},
			wantErr: "read tarball",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Tarball(bytes.NewReader(tc.archive(t)), "rev", lim)
			if err == nil {
				t.Fatal("Tarball: no error")
			}
			var le *LimitError
			if tc.wantLimit != errors.As(err, &le) {
				t.Errorf("error %v: LimitError = %v, want %v", err, !tc.wantLimit, tc.wantLimit)
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzTarball(f *testing.F) {
	f.Add(githubArchive(f, dir(top), file(top+"a.yaml", "a: 1\n"), symlink(top+"b", "a.yaml")))
	f.Add(githubArchive(f, dir(top), symlink(top+"x", "../../etc/passwd"), symlink(top+"d", "."), symlink(top+"e/f", "..")))
	f.Add(githubArchive(f, file(top+"../evil", "x")))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	lim := Limits{MaxFileBytes: 1 << 10, MaxTotalBytes: 8 << 10, MaxFiles: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := Tarball(bytes.NewReader(data), "fuzz", lim)
		if err != nil {
			return
		}
		var total int
		for _, name := range tree.Files() {
			if !fs.ValidPath(name) || name == "." {
				t.Fatalf("invalid path %q in tree", name)
			}
			b, err := fs.ReadFile(tree, name)
			if err != nil {
				t.Fatalf("read %q: %v", name, err)
			}
			total += len(b)
		}
		if len(tree.Files()) > lim.MaxFiles || int64(total) > lim.MaxTotalBytes {
			t.Fatalf("limits exceeded: %d files, %d bytes", len(tree.Files()), total)
		}
	})
}

// A tree over its total limit through symbolic links to one large file
// (the shape that used to end a check neutral) names the largest files:
// each link counts as what it reads.
func TestTarball_OverLimitNamesLargest(t *testing.T) {
	big := strings.Repeat("x", 4000)
	entries := []entry{dir(top), file(top+"crb.yaml", "kind: ClusterRoleBinding\n"), file(top+"big.bin", big)}
	for i := range 70 {
		entries = append(entries, symlink(top+fmt.Sprintf("l%02d", i), "big.bin"))
	}
	_, err := Tarball(bytes.NewReader(githubArchive(t, entries...)), "head", Limits{MaxFileBytes: 1 << 20, MaxTotalBytes: 100_000, MaxFiles: 1000})
	var ol *OverLimitError
	var le *LimitError
	if !errors.As(err, &ol) || !errors.As(err, &le) {
		t.Fatalf("err = %v, want an *OverLimitError wrapping a *LimitError", err)
	}
	want := []FileSize{{"big.bin", 4000}, {"l00", 4000}, {"l01", 4000}, {"l02", 4000}, {"l03", 4000}}
	if diff := cmp.Diff(want, ol.Largest); diff != "" {
		t.Errorf("largest (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "tree too large: more than 100000 bytes") {
		t.Errorf("message %q", err)
	}
}
