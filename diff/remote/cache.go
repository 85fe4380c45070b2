package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// cache keeps archives by repository and commit: what a commit holds never
// changes, so an entry never goes stale. Memory and disk are each bounded
// by bytes (memory by a quarter of the disk's bound); the oldest entries
// go first.
type cache struct {
	dir    string
	max    int64 // on disk
	memMax int64
	mu     sync.Mutex
	mem    map[string][]byte
	order  []string
	size   int64
}

// DefaultCacheDir is where fetched archives are kept between runs: the
// user's cache directory ("" when there is none: memory only).
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "rbacguard", "remote")
}

func newCache(dir string, max int64) *cache {
	return &cache{dir: dir, max: max, memMax: max / 4, mem: map[string][]byte{}}
}

func (c *cache) file(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:])+".tar.gz")
}

func (c *cache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	data, ok := c.mem[key]
	c.mu.Unlock()
	if ok || c.dir == "" {
		return data, ok
	}
	data, err := os.ReadFile(c.file(key))
	if err != nil || int64(len(data)) > c.max {
		return nil, false
	}
	now := timeNow()
	_ = os.Chtimes(c.file(key), now, now) // recently used: evicted last
	c.putMem(key, data)
	return data, true
}

func (c *cache) put(key string, data []byte) {
	if int64(len(data)) > c.max {
		return
	}
	c.putMem(key, data)
	if c.dir == "" {
		return
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return // a cache that cannot be written only costs time
	}
	tmp, err := os.CreateTemp(c.dir, ".part-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), c.file(key)) != nil {
		_ = os.Remove(tmp.Name())
		return
	}
	c.trimDisk()
}

func (c *cache) putMem(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.mem[key]; ok {
		return
	}
	c.mem[key], c.order, c.size = data, append(c.order, key), c.size+int64(len(data))
	for c.size > c.memMax && len(c.order) > 0 {
		old := c.order[0]
		c.order, c.size = c.order[1:], c.size-int64(len(c.mem[old]))
		delete(c.mem, old)
	}
}

// trimDisk removes the least recently used archives past the bound.
func (c *cache) trimDisk() {
	matches, _ := filepath.Glob(filepath.Join(c.dir, "*.tar.gz"))
	type entry struct {
		path string
		info os.FileInfo
	}
	var entries []entry
	var total int64
	for _, m := range matches {
		if info, err := os.Stat(m); err == nil {
			entries = append(entries, entry{m, info})
			total += info.Size()
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].info.ModTime().Before(entries[j].info.ModTime()) })
	for _, e := range entries {
		if total <= c.max {
			break
		}
		if os.Remove(e.path) == nil {
			total -= e.info.Size()
		}
	}
}

var timeNow = time.Now

func (c *cache) drop(key string) {
	c.mu.Lock()
	if data, ok := c.mem[key]; ok {
		c.size -= int64(len(data))
		delete(c.mem, key)
		c.order = slices.DeleteFunc(c.order, func(k string) bool { return k == key })
	}
	c.mu.Unlock()
	if c.dir != "" {
		_ = os.Remove(c.file(key))
	}
}
