package app

import (
	"container/list"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// job is one pull-request head to check. It holds no payload: a queued
// job is a few hundred bytes, whatever the delivery was.
type job struct {
	delivery     string
	event        string // "pull_request.synchronize", …
	installation int64
	owner, repo  string
	pr           int
	headSHA      string
	baseSHA      string    // "" = look the pull request up
	rerun        bool      // asked for explicitly: run even if this head was done
	push         bool      // a pull_request event: supersedes older heads
	at           time.Time // when the pull request was updated (push events)

	ctx    context.Context
	cancel context.CancelCauseFunc
}

// prKey names a pull request across events: lower-case owner/repo#n.
func (j *job) prKey() string {
	return strings.ToLower(j.owner+"/"+j.repo) + "#" + strconv.Itoa(j.pr)
}

func (j *job) headKey() string { return j.prKey() + "@" + j.headSHA }

// supersededError cancels the job of an older head of a pull request.
type supersededError struct{ by string }

func (e *supersededError) Error() string {
	return "superseded by " + sha7(e.by) + ": a newer push to the pull request is being checked"
}

// errInterrupted cancels the jobs still running when shutdown's deadline
// passes.
var errInterrupted = errors.New("interrupted, will be retried on the next push or re-run")

func sha7(s string) string { return s[:min(7, len(s))] }

// queue is a bounded FIFO of jobs with deduplication and supersession:
//   - a delivery id seen before is a duplicate (GitHub's redelivery keeps
//     the id);
//   - a job for a head that is queued or running is a duplicate;
//   - a job for a head that completed recently is a duplicate unless it
//     is an explicit re-run;
//   - a push (pull_request event) cancels the pull request's queued or
//     running jobs of other heads, and is itself stale (dropped) when it
//     is older than the push already in flight: deliveries can arrive out
//     of order. Re-runs never cancel anything.
//
// Capacity is held by slots: a delivery reserves one before it commits,
// so the channel never blocks under the lock.
type queue struct {
	m     *metrics
	ch    chan *job
	slots chan struct{}

	mu         sync.Mutex
	closed     bool
	base       context.Context
	deliveries *lru
	done       *lru
	inflight   map[string]*job   // headKey → queued or running job
	latest     map[string]*job   // prKey → newest push in flight
	all        map[*job]struct{} // every queued or running job
}

func newQueue(size int, m *metrics) *queue {
	return &queue{
		m:          m,
		ch:         make(chan *job, size),
		slots:      make(chan struct{}, size),
		base:       context.Background(),
		deliveries: newLRU(4096),
		done:       newLRU(4096),
		inflight:   map[string]*job{},
		latest:     map[string]*job{},
		all:        map[*job]struct{}{},
	}
}

// seen reports whether a delivery id was accepted before.
func (q *queue) seen(delivery string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return delivery != "" && q.deliveries.has(delivery)
}

// remember records an accepted delivery id.
func (q *queue) remember(delivery string) {
	if delivery == "" {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deliveries.add(delivery)
}

// refuse says why j must not run ("" if it may). Callers hold q.mu.
func (q *queue) refuse(j *job) string {
	switch {
	case q.closed:
		return outcomeShuttingDown
	case q.inflight[j.headKey()] != nil:
		return outcomeDuplicate
	case !j.rerun && q.done.has(j.headKey()):
		return outcomeDuplicate
	}
	if old := q.latest[j.prKey()]; j.push && old != nil && !j.at.IsZero() && j.at.Before(old.at) {
		return outcomeStale
	}
	return ""
}

// offer queues j, waiting up to wait for room (or until ctx ends). It
// returns a delivery outcome: accepted, duplicate, stale, queue_full or
// shutting_down.
func (q *queue) offer(ctx context.Context, j *job, wait time.Duration) string {
	q.mu.Lock()
	why := q.refuse(j)
	q.mu.Unlock()
	if why != "" {
		return why
	}
	if !q.reserve(ctx, wait) {
		return outcomeQueueFull
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if why := q.refuse(j); why != "" {
		<-q.slots
		return why
	}
	if j.push {
		for other := range q.all {
			if other.prKey() == j.prKey() && other.headSHA != j.headSHA {
				other.cancel(&supersededError{by: j.headSHA})
			}
		}
		q.latest[j.prKey()] = j
	}
	j.ctx, j.cancel = context.WithCancelCause(q.base)
	q.inflight[j.headKey()] = j
	q.all[j] = struct{}{}
	q.ch <- j // never blocks: a slot is held
	q.m.queueDepth.Inc()
	return outcomeAccepted
}

func (q *queue) reserve(ctx context.Context, wait time.Duration) bool {
	select {
	case q.slots <- struct{}{}:
		return true
	default:
	}
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case q.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// next blocks for the next job; false once the queue is closed and empty.
func (q *queue) next() (*job, bool) {
	j, ok := <-q.ch
	if !ok {
		return nil, false
	}
	<-q.slots
	q.m.queueDepth.Dec()
	return j, true
}

// finish forgets a job; completed heads are remembered so that a
// redelivered event does not run them again.
func (q *queue) finish(j *job, completed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inflight[j.headKey()] == j {
		delete(q.inflight, j.headKey())
	}
	if q.latest[j.prKey()] == j {
		delete(q.latest, j.prKey())
	}
	delete(q.all, j)
	if completed {
		q.done.add(j.headKey())
	}
	j.cancel(nil)
}

// close stops accepting jobs; workers drain what is queued.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}

// interruptAll cancels every queued or running job.
func (q *queue) interruptAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for j := range q.all {
		j.cancel(errInterrupted)
	}
}

// lru is a set of strings that forgets the oldest beyond its size.
type lru struct {
	size  int
	order *list.List
	items map[string]*list.Element
}

func newLRU(size int) *lru {
	return &lru{size: size, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru) has(k string) bool {
	e, ok := l.items[k]
	if ok {
		l.order.MoveToFront(e)
	}
	return ok
}

func (l *lru) add(k string) {
	if e, ok := l.items[k]; ok {
		l.order.MoveToFront(e)
		return
	}
	l.items[k] = l.order.PushFront(k)
	if l.order.Len() > l.size {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.items, old.Value.(string))
	}
}
