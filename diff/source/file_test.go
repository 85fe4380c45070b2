package source

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "export.yaml")
	if err := os.WriteFile(name, []byte("apiVersion: v1\nkind: List\nitems: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := File(name, Limits{MaxFileBytes: 4, MaxTotalBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Files(); len(got) != 1 || got[0] != "export.yaml" || tr.Rev() != name {
		t.Errorf("files %v rev %q: want [export.yaml] %q", got, tr.Rev(), name)
	}
	if b, err := fs.ReadFile(tr, "export.yaml"); err != nil || len(b) == 0 {
		t.Errorf("read: %v (the per-file bound must not apply to the file the operator named)", err)
	}
	if _, err := File(name, Limits{MaxTotalBytes: 4}); err == nil {
		t.Error("a file over the tree bound must be refused")
	}
	if _, err := File(dir, DefaultLimits()); err == nil {
		t.Error("a directory is not a file")
	}
	if _, err := File(filepath.Join(dir, "missing.yaml"), DefaultLimits()); err == nil {
		t.Error("a missing file is an error")
	}
}
