package source

import (
	"sync"
	"unsafe"
	"weak"
)

// sharedBlobs lets the trees of one process share the bytes of the git
// objects they hold: base and head of a diff are mostly the same blobs,
// and a repository's manifests are most of a diff's memory. An entry lives
// as long as some tree holds the bytes (a weak pointer), so nothing is
// kept for longer than a tree that uses it.
var sharedBlobs = blobStore{m: map[string]weakBlob{}}

type blobStore struct {
	mu sync.Mutex
	m  map[string]weakBlob
}

// weakBlob points at the first byte of a blob's bytes, which keeps the
// whole allocation alive while the pointer is strong anywhere.
type weakBlob struct {
	p weak.Pointer[byte]
	n int
}

// get returns the bytes of oid (repo and oid: a repository missing an
// object says so, whatever another holds) if a live tree holds them.
func (s *blobStore) get(oid string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.m[oid]
	if !ok {
		return nil, false
	}
	p := w.p.Value()
	if p == nil {
		delete(s.m, oid)
		return nil, false
	}
	return unsafe.Slice(p, w.n), true
}

// put offers the bytes of oid to later trees. Empty blobs share nothing.
func (s *blobStore) put(oid string, data []byte) {
	if len(data) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[oid] = weakBlob{p: weak.Make(&data[0]), n: len(data)}
}
