package checks

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/rbacguard/rbacguard/diff/change"
	"github.com/rbacguard/rbacguard/diff/source"
)

// TestDiff_AgreesWithChange holds the three answers to "what changed" to
// one: for every file of every case in testdata/cases, the lines the
// change package calls added or modified are exactly the added lines of
// its patch as ParsePatches reads GitHub's, every one of them can carry a
// review comment, and a file has a patch exactly when the change set
// lists it (removed files excepted: GitHub shows no new side for them).
func TestDiff_AgreesWithChange(t *testing.T) {
	files, err := filepath.Glob("../testdata/cases/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	compared := 0
	for _, file := range files {
		a, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		base, head := source.NewMem("base", source.Limits{}), source.NewMem("head", source.Limits{})
		for _, f := range a.Files {
			switch {
			case strings.HasPrefix(f.Name, "base/"):
				_ = base.Add(strings.TrimPrefix(f.Name, "base/"), f.Data)
			case strings.HasPrefix(f.Name, "head/"):
				_ = head.Add(strings.TrimPrefix(f.Name, "head/"), f.Data)
			}
		}
		set := change.Between(base, head)
		patches := map[string]string{}
		for _, p := range head.Files() {
			if patch := set.Patch(p); patch != "" {
				patches[p] = patch
			}
		}
		d, err := ParsePatches(patches)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, p := range head.Files() {
			if _, hasPatch := patches[p]; hasPatch != set.Files()[p] {
				t.Errorf("%s: %s has a patch %v, in the change set %v", filepath.Base(file), p, hasPatch, set.Files()[p])
			}
			data, _ := head.ReadFile(p)
			for n := 1; n <= strings.Count(string(data), "\n")+1; n++ {
				compared++
				if set.Line(p, n) != d.added(p, n) {
					t.Errorf("%s: %s:%d changed %v, added in the patch %v", filepath.Base(file), p, n, set.Line(p, n), d.added(p, n))
				}
				if set.Line(p, n) && !d.Commentable(p, n) {
					t.Errorf("%s: %s:%d changed but not commentable", filepath.Base(file), p, n)
				}
			}
		}
	}
	if compared < 1000 {
		t.Errorf("only %d lines compared", compared)
	}
}
