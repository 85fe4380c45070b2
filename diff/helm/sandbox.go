package helm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// childEnv makes the binary the render child (see the package doc).
const childEnv = "RBACGUARD_HELM_CHILD"

// Exit codes of the child that say which bound it ran into.
const (
	exitMemory = 3
	exitFailed = 4
)

func init() {
	if os.Getenv(childEnv) == "" {
		return
	}
	os.Exit(child(os.Stdin, os.Stdout, os.Stderr))
}

// wire is a request as the child reads it: the chart's files in order,
// so that the same request is the same bytes (a map is encoded in no
// order), and those bytes key the cache.
type wire struct {
	Request Request
	Names   []string
	Data    [][]byte
}

func toWire(req Request) wire {
	w := wire{Request: req}
	w.Request.Chart.Files = nil
	for _, name := range slices.Sorted(maps.Keys(req.Chart.Files)) {
		w.Names = append(w.Names, name)
		w.Data = append(w.Data, req.Chart.Files[name])
	}
	return w
}

func (w wire) request() Request {
	req := w.Request
	if len(w.Names) > 0 {
		req.Chart.Files = make(map[string][]byte, len(w.Names))
		for i, name := range w.Names {
			req.Chart.Files[name] = w.Data[i]
		}
	}
	return req
}

// reply is what the child writes back.
type reply struct {
	Output *Output
	Err    string
}

// child reads one request, renders it and writes the reply. It watches its
// own heap and exits with exitMemory past the bound the parent set.
func child(in io.Reader, out, errOut io.Writer) int {
	limit, _ := strconv.ParseInt(os.Getenv(childEnv), 10, 64)
	if limit > 0 {
		debug.SetMemoryLimit(limit / 2) // collect hard well before the bound
		go watchHeap(limit, errOut)
	}
	var w wire
	if err := gob.NewDecoder(in).Decode(&w); err != nil {
		fmt.Fprintf(errOut, "read request: %v\n", err)
		return exitFailed
	}
	o, err := render(context.Background(), w.request())
	r := reply{Output: o}
	if err != nil {
		r.Err = err.Error()
	}
	if err := gob.NewEncoder(out).Encode(&r); err != nil {
		fmt.Fprintf(errOut, "write reply: %v\n", err)
		return exitFailed
	}
	return 0
}

// watchHeap ends the process when its heap passes limit: a template that
// builds a string or list without end, or values that expand, stop here
// rather than in the machine's memory.
func watchHeap(limit int64, errOut io.Writer) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for range time.Tick(5 * time.Millisecond) {
		metrics.Read(sample)
		if v := sample[0].Value; v.Kind() == metrics.KindUint64 && int64(v.Uint64()) > limit {
			fmt.Fprintf(errOut, "heap over %d bytes\n", limit)
			os.Exit(exitMemory)
		}
	}
}

// Renderer renders charts in child processes, a few at a time, and keeps
// recent outputs: base and head of a pull request usually render the
// same chart with the same values, and that renders once.
type Renderer struct {
	lim   Limits
	exe   string
	slots chan struct{}

	mu    sync.Mutex
	cache map[[32]byte]*cached
	order [][32]byte
	held  int64
}

type cached struct {
	done chan struct{}
	out  *Output
	err  error
	size int64
}

// cacheBytes bounds the outputs a Renderer keeps.
const cacheBytes = 64 << 20

// NewRenderer returns a renderer within lim.
func NewRenderer(lim Limits) *Renderer {
	lim = lim.withDefaults()
	return &Renderer{lim: lim, slots: make(chan struct{}, lim.Concurrent), cache: map[[32]byte]*cached{}}
}

var (
	defaultOnce     sync.Once
	defaultRenderer *Renderer
)

// Default is the process's renderer, with DefaultLimits.
func Default() *Renderer {
	defaultOnce.Do(func() { defaultRenderer = NewRenderer(DefaultLimits()) })
	return defaultRenderer
}

// Render renders req in a child process. The same request is rendered
// once while its output is kept.
func (r *Renderer) Render(ctx context.Context, req Request) (*Output, error) {
	var in bytes.Buffer
	w := toWire(req)
	if err := gob.NewEncoder(&in).Encode(&w); err != nil {
		return nil, err
	}
	if int64(in.Len()) > r.lim.MaxInputBytes {
		return nil, &Error{Err: fmt.Errorf("the chart and its values are %d bytes, over the %d-byte bound", in.Len(), r.lim.MaxInputBytes)}
	}
	key := sha256.Sum256(in.Bytes())
	r.mu.Lock()
	c, ok := r.cache[key]
	if !ok {
		c = &cached{done: make(chan struct{})}
		r.cache[key] = c
	}
	r.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			return c.out, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.out, c.err = r.run(ctx, in.Bytes())
	close(c.done)
	r.keep(key, c)
	return c.out, c.err
}

// keep holds c within cacheBytes; a failure that depends on the load
// rather than the chart (the context ended, the render ran out of time)
// is dropped, so that the next caller tries again; the rest are kept like
// outputs.
func (r *Renderer) keep(key [32]byte, c *cached) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded) || errors.Is(c.err, ErrTimeout) {
		delete(r.cache, key)
		return
	}
	if c.out != nil {
		for _, f := range c.out.Files {
			c.size += int64(len(f.Content))
		}
	}
	r.order = append(r.order, key)
	r.held += c.size
	for r.held > cacheBytes && len(r.order) > 1 {
		old := r.order[0]
		r.order = r.order[1:]
		r.held -= r.cache[old].size
		delete(r.cache, old)
	}
}

// run starts the child, feeds it the request and reads its reply within
// the bounds.
func (r *Renderer) run(ctx context.Context, req []byte) (*Output, error) {
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("helm: find this program to run the render child: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.lim.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	// Nothing of the caller's environment: no proxy, no home, no token.
	cmd.Env = []string{childEnv + "=" + strconv.FormatInt(r.lim.MaxMemoryBytes, 10), "GOMAXPROCS=1"}
	cmd.Stdin = bytes.NewReader(req)
	var stderr tail
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("helm: start the render child: %w", err)
	}
	// Read at most the bound; more is an error, and the child is killed.
	data, readErr := io.ReadAll(io.LimitReader(stdout, r.lim.MaxOutputBytes+1))
	over := int64(len(data)) > r.lim.MaxOutputBytes
	if over {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return nil, &Error{Err: fmt.Errorf("%w: rendering took longer than %s (a template that loops?)", ErrTimeout, r.lim.Timeout)}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case over:
		return nil, &Error{Err: fmt.Errorf("the chart rendered more than %d bytes", r.lim.MaxOutputBytes)}
	case cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == exitMemory:
		return nil, &Error{Err: fmt.Errorf("rendering used more than %d MiB of memory (values or a template that expand?)", r.lim.MaxMemoryBytes>>20)}
	case waitErr != nil || readErr != nil:
		return nil, &Error{Err: fmt.Errorf("the render child failed (%v): %s", cmp(waitErr, readErr), strings.TrimSpace(stderr.String()))}
	}
	var rep reply
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&rep); err != nil {
		return nil, &Error{Err: fmt.Errorf("read the render child's reply: %w", err)}
	}
	if rep.Err != "" {
		return nil, &Error{Err: errors.New(rep.Err)}
	}
	return rep.Output, nil
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// tail keeps the last bytes written to it: the child's last words.
type tail struct{ buf []byte }

const tailBytes = 2048

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = t.buf[len(t.buf)-tailBytes:]
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.buf) }
