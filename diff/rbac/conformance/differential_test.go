package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/tools/txtar"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/rbacguard/rbacguard/diff/rbac"
)

var (
	seedFlag   = flag.Uint64("seed", 20261125, "seed of the differential test's generator")
	pairsFlag  = flag.Int("pairs", 1200, "number of generated base/head pairs")
	pairFlag   = flag.Int("pair", -1, "run only this pair of the seed")
	maxReqs    = flag.Int("requests", 300, "requests sampled per pair")
	recordFlag = flag.Bool("record", false, "write each minimised disagreement to testdata/disagreements")
)

const batch = 50

// pairRand is the randomness of pair i of seed: pairs are independent, so
// any one replays alone with -seed and -pair.
func pairRand(seed uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(i)))
}

// TestDifferential holds the engine to the API server's authorizer on
// generated base/head pairs: (a) Allows agrees with the authorizer on both
// sides, (b) the rbac.increase findings cover exactly what the authorizer
// allows at head and not at base, and the rbac.decrease findings exactly
// what it allows at base and not at head.
func TestDifferential(t *testing.T) {
	seed, n := *seedFlag, *pairsFlag
	if testing.Short() {
		n = 200
	}
	var pairs, decisions, allowed, gained, lost, implied, increases, decreases atomic.Int64
	var mu sync.Mutex
	bySig := map[string]int{} // failures by signature; the first of each is minimised
	t.Run("batch", func(t *testing.T) {
		for lo := 0; lo < n; lo += batch {
			hi := min(lo+batch, n)
			t.Run(fmt.Sprintf("%d-%d", lo, hi-1), func(t *testing.T) {
				t.Parallel()
				for i := lo; i < hi; i++ {
					if *pairFlag >= 0 && i != *pairFlag {
						continue
					}
					g := newGen(rand.NewPCG(seed, uint64(i)))
					base := g.Generate()
					head, muts := g.Mutate(base)
					if i%2 == 1 {
						// Every other pair is read backwards: a pull
						// request that takes away what the mutations
						// added, so that decreases get as much exercise
						// as increases.
						base, head = head, base
						muts = append(muts, "(reversed: head is the base graph)")
					}
					v := newVocabulary(base, head, g.r, *maxReqs)
					var st stats
					fails, err := check(base, head, v, 20, &st)
					if err != nil {
						t.Fatalf("seed %d pair %d: %v", seed, i, err)
					}
					pairs.Add(1)
					decisions.Add(int64(st.decisions))
					allowed.Add(int64(st.allowed))
					gained.Add(int64(st.gained))
					increases.Add(int64(st.increases))
					lost.Add(int64(st.lost))
					decreases.Add(int64(st.decreases))
					implied.Add(int64(st.implied))
					for _, f := range fails {
						sig := f.signature()
						mu.Lock()
						bySig[sig]++
						first := bySig[sig] == 1
						mu.Unlock()
						if !first {
							t.Fail()
							continue
						}
						reportFailure(t, fmt.Sprintf("seed %d pair %d (rerun: go test -run TestDifferential -seed=%d -pair=%d); mutations %v; class %s",
							seed, i, seed, i, muts, sig),
							fmt.Sprintf("seed-%d-pair-%d", seed, i), base, head, v, f)
					}
				}
			})
		}
	})
	t.Logf("seed %d: %d pairs; %d (user, request) decisions per side (%d allowed at head, %d gained, %d lost, of which %d of verbs a narrowed \"*\" leaves implied); %d increase and %d decrease findings checked",
		seed, pairs.Load(), decisions.Load(), allowed.Load(), gained.Load(), lost.Load(), implied.Load(), increases.Load(), decreases.Load())
	for _, sig := range slices.Sorted(maps.Keys(bySig)) {
		t.Errorf("%5d disagreements of class %s", bySig[sig], sig)
	}
}

// stillFails is the minimisation predicate: the same kind of disagreement
// about the same user and request (or the same finding).
func stillFails(v *vocabulary, f failure) func(base, head Policy) bool {
	return func(base, head Policy) bool {
		vv := *v
		if f.user != nil {
			vv.users = []*user.DefaultInfo{f.user}
			vv.reqs = []rbac.Request{f.req}
		}
		only := ""
		if f.kind == "extra" || f.kind == "extra-decrease" {
			only = f.finding.Message
		}
		fails, err := checkOnly(base, head, &vv, 0, nil, only)
		if err != nil {
			return false
		}
		for _, g := range fails {
			if g.kind != f.kind {
				continue
			}
			if f.finding == nil || (g.finding != nil && g.finding.Message == f.finding.Message) {
				return true
			}
		}
		return false
	}
}

func reportFailure(t *testing.T, what, name string, base, head Policy, v *vocabulary, f failure) {
	t.Helper()
	mb, mh := minimise(base, head, stillFails(v, f))
	by, err := mb.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	hy, err := mh.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	// Re-derive the failure on the minimal graphs for the message.
	vv := *v
	if f.user != nil {
		vv.users, vv.reqs = []*user.DefaultInfo{f.user}, []rbac.Request{f.req}
	}
	if fails, _ := check(mb, mh, &vv, 0, nil); len(fails) > 0 {
		for _, g := range fails {
			if g.kind == f.kind {
				f = g
				break
			}
		}
	}
	t.Errorf("%s\n%s\nminimal base.yaml:\n%s\nminimal head.yaml:\n%s", what, f, by, hy)
	if *recordFlag {
		ar := &txtar.Archive{
			Comment: []byte(what + "\n"),
			Files: []txtar.File{
				{Name: "base.yaml", Data: by},
				{Name: "head.yaml", Data: hy},
				{Name: "note", Data: []byte("(analysis)\n\nfailure:\n" + f.String() + "\n")},
				{Name: "record.json", Data: []byte(f.record() + "\n")},
			},
		}
		path := filepath.Join("testdata", "disagreements", name+"-"+f.kind+".txtar")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzGraph feeds the fuzzer's bytes to the generator as its randomness.
func FuzzGraph(f *testing.F) {
	for i := range 8 {
		r := pairRand(1, i)
		b := make([]byte, 256)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := newGen(&byteSource{b: bytes.Clone(data)})
		base := g.Generate()
		head, _ := g.Mutate(base)
		if len(data) > 0 && data[0]&1 == 1 {
			base, head = head, base // a pull request that takes away
		}
		v := newVocabulary(base, head, g.r, 200)
		fails, err := check(base, head, v, 1, nil)
		if err != nil {
			t.Skip(err) // an aggregation cycle the generator cannot make, or similar
		}
		if len(fails) > 0 {
			reportFailure(t, "fuzz input", "fuzz", base, head, v, fails[0])
		}
	})
}
