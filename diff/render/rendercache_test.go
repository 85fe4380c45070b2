package render_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/render"
)

// cachedRender renders ov of files through c and returns the stats it
// moved by.
func cachedRender(t *testing.T, c *render.ResultCache, files map[string]string, ov render.Overlay, o render.Options) (*render.Result, error, render.CacheStats) {
	t.Helper()
	before := c.Stats()
	o.ResultCache = c
	res, err := render.Render(context.Background(), memTree(t, files), ov, o)
	after := c.Stats()
	return res, err, render.CacheStats{Hits: after.Hits - before.Hits, Misses: after.Misses - before.Misses, Uncacheable: after.Uncacheable - before.Uncacheable}
}

var (
	o3      = render.Overlay{Path: "o3", Kustomize: true}
	plainOv = render.Overlay{Path: "plain", Files: []string{"plain/sa.yaml"}}
)

// TestResultCache_AnyInputMisses renders an overlay, changes one thing and
// renders it again: a change to any input of the overlay, or to an option
// that changes what it renders to, misses; anything else hits.
func TestResultCache_AnyInputMisses(t *testing.T) {
	tests := []struct {
		name   string
		ov     render.Overlay
		change map[string]string // "" removes the file
		opts   func(*render.Options)
		hit    bool
	}{
		{name: "nothing changed", ov: o3, hit: true},
		{name: "a file no overlay reads", ov: o3, change: map[string]string{"README.md": "more\n"}, hit: true},
		{name: "another overlay's base", ov: o3, change: map[string]string{"b1/role.yaml": planRepo["b1/role.yaml"] + "# x\n"}, hit: true},
		{name: "a new file next to the kustomization", ov: o3, change: map[string]string{"o3/notes.yaml": "a: b\n"}, hit: true},
		{name: "how many render at once", ov: o3, opts: func(o *render.Options) { o.Workers = 7 }, hit: true},
		{name: "the kustomization", ov: o3, change: map[string]string{"o3/kustomization.yaml": planRepo["o3/kustomization.yaml"] + "namespace: x\n"}},
		{name: "a comment in the kustomization", ov: o3, change: map[string]string{"o3/kustomization.yaml": planRepo["o3/kustomization.yaml"] + "# x\n"}},
		{name: "its base's resource", ov: o3, change: map[string]string{"b2/role.yaml": planRepo["b2/role.yaml"] + "# x\n"}},
		{name: "its base's kustomization", ov: o3, change: map[string]string{"b2/kustomization.yaml": "resources: [role.yaml]\nnamePrefix: p-\n"}},
		{name: "a component's patch", ov: o3, change: map[string]string{"comp/p.yaml": planRepo["comp/p.yaml"] + "# x\n"}},
		{name: "a patch file", ov: o3, change: map[string]string{"o3/patch.yaml": planRepo["o3/patch.yaml"] + "# x\n"}},
		{name: "a generator's env file", ov: o3, change: map[string]string{"o3/app.env": "A=2\n"}},
		{name: "a second kustomization name appears", ov: o3, change: map[string]string{"o3/Kustomization": "resources: []\n"}},
		{name: "an input is removed", ov: o3, change: map[string]string{"o3/app.env": ""}},
		{name: "the resource limit", ov: o3, opts: func(o *render.Options) { o.Limits.MaxResources = 3 }},
		{name: "the byte limit", ov: o3, opts: func(o *render.Options) { o.Limits.MaxFileBytes = 1 << 10 }},
		{name: "the time limit", ov: o3, opts: func(o *render.Options) { o.Limits.Timeout = time.Hour }},
		{name: "the remote bases allowed", ov: o3, opts: func(o *render.Options) { o.RemoteBases = []string{"https://github.com/acme/"} }},
		{name: "strict root", ov: o3, opts: func(o *render.Options) { o.StrictRoot = true }},
		{name: "plain: nothing changed", ov: plainOv, hit: true},
		{name: "plain: another overlay", ov: plainOv, change: map[string]string{"o3/app.env": "A=2\n"}, hit: true},
		{name: "plain: its file", ov: plainOv, change: map[string]string{"plain/sa.yaml": planRepo["plain/sa.yaml"] + "# x\n"}},
		{name: "plain: the resource limit", ov: plainOv, opts: func(o *render.Options) { o.Limits.MaxResources = 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := render.NewResultCache(64 << 20)
			first, err, st := cachedRender(t, c, planRepo, tt.ov, render.DefaultOptions())
			if err != nil || st.Misses != 1 {
				t.Fatalf("first render: %v, %+v; want a miss and no error", err, st)
			}
			files := maps.Clone(planRepo)
			maps.Copy(files, tt.change)
			maps.DeleteFunc(files, func(_, v string) bool { return v == "" })
			o := render.DefaultOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			second, _, st := cachedRender(t, c, files, tt.ov, o)
			if got := st.Hits == 1 && st.Misses == 0; got != tt.hit {
				t.Fatalf("second render: %+v, want hit = %v", st, tt.hit)
			}
			if tt.hit && (len(second.Objects) != len(first.Objects) || second.Objects[0] != first.Objects[0]) {
				t.Errorf("a hit must hand back the same objects")
			}
		})
	}
}

// TestResultCache_SameAsUncached: a hit renders to what rendering does.
func TestResultCache_SameAsUncached(t *testing.T) {
	c := render.NewResultCache(64 << 20)
	want, err := render.Render(context.Background(), memTree(t, planRepo), o3, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err, _ := cachedRender(t, c, planRepo, o3, render.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(bodies(want.Objects), bodies(got.Objects)); diff != "" {
			t.Fatalf("objects (-uncached +cached):\n%s", diff)
		}
		for i := range want.Objects {
			if w, g := want.Objects[i].LineOf("metadata", "labels"), got.Objects[i].LineOf("metadata", "labels"); w != g {
				t.Errorf("%s: labels at %v, want %v", got.Objects[i], g, w)
			}
		}
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 1 || st.Entries != 1 || st.Bytes <= 0 {
		t.Errorf("stats = %+v, want one miss, one hit, one entry", st)
	}
}

// TestResultCache_Failures: a render that fails fails the same way from
// the same inputs and is kept; one that ran out of time is not.
func TestResultCache_Failures(t *testing.T) {
	broken := maps.Clone(planRepo)
	broken["o3/kustomization.yaml"] = "resources: [../b2, missing.yaml]\n"
	c := render.NewResultCache(64 << 20)
	_, err1, _ := cachedRender(t, c, broken, o3, render.DefaultOptions())
	_, err2, st := cachedRender(t, c, broken, o3, render.DefaultOptions())
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || st.Hits != 1 {
		t.Fatalf("errors %v and %v, stats %+v: want the same error, the second a hit", err1, err2, st)
	}

	c = render.NewResultCache(64 << 20)
	o := render.DefaultOptions()
	o.Limits.Timeout = time.Nanosecond
	for i := range 2 {
		_, err, st := cachedRender(t, c, planRepo, o3, o)
		if err == nil || !strings.Contains(err.Error(), "rendering took longer than 1ns") || st.Misses != 1 {
			t.Fatalf("render %d: %v, %+v; want the time limit and a miss", i, err, st)
		}
	}
	if st := c.Stats(); st.Entries != 0 {
		t.Errorf("a timed-out render was kept: %+v", st)
	}

	// A kustomization that does not parse: its inputs are not all known.
	unsure := maps.Clone(planRepo)
	unsure["o3/kustomization.yaml"] = "resources: [../b2\n"
	c = render.NewResultCache(64 << 20)
	for range 2 {
		if _, _, st := cachedRender(t, c, unsure, o3, render.DefaultOptions()); st.Uncacheable != 1 || st.Hits+st.Misses != 0 {
			t.Fatalf("stats %+v: want it rendered outside the cache", st)
		}
	}
}

// TestResultCache_Concurrent: renders of the same inputs at once render
// once.
func TestResultCache_Concurrent(t *testing.T) {
	c := render.NewResultCache(64 << 20)
	o := render.DefaultOptions()
	o.ResultCache = c
	tr := memTree(t, planRepo)
	// source.Mem sorts its file list on first use, unguarded; Plan lists
	// the files before renders run at once, and so does this test.
	tr.Files()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := render.Render(context.Background(), tr, o3, o); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Misses != 1 || st.Hits != 7 {
		t.Errorf("stats = %+v, want 1 miss and 7 hits", st)
	}
}

// TestResultCache_Bound: the cache holds no more than its bound. A full
// cache keeps a new result only when it was asked for more often than the
// least recently used one, which it then pushes out.
func TestResultCache_Bound(t *testing.T) {
	files := maps.Clone(planRepo)
	files["o4/kustomization.yaml"] = "resources: [../b1]\nnamespace: fou\n" // the size of o1 and o2
	ov := func(p string) render.Overlay { return render.Overlay{Path: p, Kustomize: true} }
	one := render.NewResultCache(1 << 30)
	cachedRender(t, one, files, ov("o1"), render.DefaultOptions())
	size := one.Stats().Bytes

	bound := 2*size + size/2 // room for two
	c := render.NewResultCache(bound)
	for _, p := range []string{"o1", "o2", "o1", "o4"} {
		cachedRender(t, c, files, ov(p), render.DefaultOptions())
	}
	if st := c.Stats(); st.Bytes > bound || st.Entries != 2 || st.Evictions != 0 || st.Declined != 1 || st.Hits != 1 {
		t.Fatalf("stats = %+v (one result: %d bytes), want o1 and o2 kept, o4 declined", st, size)
	}
	// Asked for twice before, o4 now pushes out o2 (asked for once), the
	// least recently used.
	cachedRender(t, c, files, ov("o4"), render.DefaultOptions())
	if st := c.Stats(); st.Evictions != 0 || st.Declined != 2 {
		t.Fatalf("stats = %+v, want o4 declined again: asked for once before, as o2", st)
	}
	cachedRender(t, c, files, ov("o4"), render.DefaultOptions())
	if st := c.Stats(); st.Bytes > bound || st.Entries != 2 || st.Evictions != 1 {
		t.Fatalf("stats = %+v, want o4 in, o2 out", st)
	}
	for _, p := range []string{"o1", "o4"} {
		if _, _, s := cachedRender(t, c, files, ov(p), render.DefaultOptions()); s.Hits != 1 {
			t.Errorf("%s was dropped", p)
		}
	}

	tiny := render.NewResultCache(size - 1)
	cachedRender(t, tiny, files, ov("o1"), render.DefaultOptions())
	if st := tiny.Stats(); st.Entries != 0 || st.Bytes != 0 || st.Declined != 1 {
		t.Errorf("a result over the whole bound was kept: %+v", st)
	}
}

// TestResultCache_HeadsDoNotFlushBases: a result used again is protected
// from a stream of results used once, as pull request heads are, and a
// full cache keeps what it holds rather than each new result pushing out
// the next one a repeated sequence of renders needs.
func TestResultCache_HeadsDoNotFlushBases(t *testing.T) {
	files := maps.Clone(planRepo)
	for i := range 6 {
		files[fmt.Sprintf("h%d/kustomization.yaml", i)] = fmt.Sprintf("resources: [../b1]\nnamespace: h%02d\n", i) // the size of o1
	}
	ov := func(p string) render.Overlay { return render.Overlay{Path: p, Kustomize: true} }
	one := render.NewResultCache(1 << 30)
	cachedRender(t, one, files, ov("o1"), render.DefaultOptions())
	size := one.Stats().Bytes

	c := render.NewResultCache(3*size + size/2)
	cachedRender(t, c, files, ov("o1"), render.DefaultOptions())
	cachedRender(t, c, files, ov("o1"), render.DefaultOptions()) // the second pull request
	for i := range 6 {
		cachedRender(t, c, files, ov(fmt.Sprint("h", i)), render.DefaultOptions())
	}
	if _, _, st := cachedRender(t, c, files, ov("o1"), render.DefaultOptions()); st.Hits != 1 {
		t.Errorf("the base was pushed out by heads used once: %+v", c.Stats())
	}
	// The same six again: the two kept hit; the four that did not fit are
	// declined again, asked for no more often than what they would push
	// out.
	hits := int64(0)
	for i := range 6 {
		_, _, st := cachedRender(t, c, files, ov(fmt.Sprint("h", i)), render.DefaultOptions())
		hits += st.Hits
	}
	if st := c.Stats(); hits != 2 || st.Evictions != 0 || st.Bytes > 3*size+size/2 {
		t.Errorf("%d of six hit, stats %+v: want the two kept to hit within %d bytes", hits, st, 3*size+size/2)
	}
}

// TestResultCache_SharedCountsOnce: overlays rendered in one diff point
// into one parse of the files they share, which the cache counts once.
func TestResultCache_SharedCountsOnce(t *testing.T) {
	tr := memTree(t, planRepo)
	separate := int64(0)
	for _, p := range []string{"o1", "o2"} {
		c := render.NewResultCache(1 << 30)
		o := render.DefaultOptions()
		o.ResultCache = c
		if _, err := render.Render(context.Background(), tr, render.Overlay{Path: p, Kustomize: true}, o); err != nil {
			t.Fatal(err)
		}
		separate += c.Stats().Bytes
	}
	c := render.NewResultCache(1 << 30)
	o := render.DefaultOptions().Shared() // one diff
	o.ResultCache = c
	for _, p := range []string{"o1", "o2"} {
		if _, err := render.Render(context.Background(), tr, render.Overlay{Path: p, Kustomize: true}, o); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Stats().Bytes; got >= separate {
		t.Errorf("o1 and o2 in one diff: %d bytes, apart %d: their base's parse was counted twice", got, separate)
	}
}
