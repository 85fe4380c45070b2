package change_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/change"
	"github.com/rbacguard/rbacguard/diff/source"
)

func tree(t *testing.T, files map[string]string) source.Tree {
	t.Helper()
	m := source.NewMem("t", source.Limits{})
	for name, data := range files {
		if err := m.Add(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestSet(t *testing.T) {
	base := tree(t, map[string]string{
		"same.yaml":    "a\nb\n",
		"edited.yaml":  "a\nb\nc\nd\n",
		"removed.yaml": "x\n",
	})
	head := tree(t, map[string]string{
		"same.yaml":   "a\nb\n",
		"edited.yaml": "a\nB\nc\nd\ne\n",
		"added.yaml":  "1\n2\n",
	})
	s := change.Between(base, head)
	if d := cmp.Diff(map[string]bool{"edited.yaml": true, "removed.yaml": true, "added.yaml": true}, s.Files()); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		path string
		line int
		want bool
	}{
		{"same.yaml", 1, false},
		{"edited.yaml", 1, false},
		{"edited.yaml", 2, true},
		{"edited.yaml", 3, false},
		{"edited.yaml", 5, true},
		{"added.yaml", 1, true},
		{"added.yaml", 2, true},
		{"removed.yaml", 1, false},
	} {
		if got := s.Line(tc.path, tc.line); got != tc.want {
			t.Errorf("Line(%s, %d) = %v, want %v", tc.path, tc.line, got, tc.want)
		}
	}
	want := "@@ -1,4 +1,5 @@\n a\n-b\n+B\n c\n d\n+e"
	if got := s.Patch("edited.yaml"); got != want {
		t.Errorf("Patch:\n%s\nwant:\n%s", got, want)
	}
	if s.Patch("same.yaml") != "" || s.Patch("removed.yaml") != "" {
		t.Error("a patch for an unchanged or removed file")
	}
}
