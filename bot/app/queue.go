package app

import (
	"container/list"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rbacguard/rbacguard/bot"
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

	// announced is closed once the queued check run exists (runID) or
	// creating it gave up; the worker waits for it.
	announced chan struct{}
	runMu     sync.Mutex // guards runID and runDone against renewal's reads
	runID     int64
	runDone   bool      // the run was completed before this job (a re-run)
	first     time.Time // first attempt, for Config.RetryFor
	attempt   int
	timer     *time.Timer // while parked for a retry
}

// setRun records j's check run. Only the goroutine working on j writes
// it; lease renewal reads it from another (run).
func (j *job) setRun(id int64, done bool) {
	j.runMu.Lock()
	defer j.runMu.Unlock()
	j.runID, j.runDone = id, done
}

func (j *job) run() (int64, bool) {
	j.runMu.Lock()
	defer j.runMu.Unlock()
	return j.runID, j.runDone
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

// Conclusion and Advice make the run of a superseded head cancelled,
// which is the truth and does not pass: branch protection looks at the
// newest head's run anyway.
func (e *supersededError) Conclusion() string { return bot.ConclusionCancelled }
func (e *supersededError) Advice() string {
	return "Nothing: the check of " + sha7(e.by) + ", the pull request's newest head, is the one that counts."
}

// errInterrupted cancels the jobs still running when shutdown's deadline
// passes; their runs are left queued for the sweep.
var errInterrupted = errors.New("interrupted by a shutdown; left queued for another replica")

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
	all        map[*job]struct{} // every queued, running or parked job
	parked     map[*job]struct{} // waiting for a retry
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
		parked:     map[*job]struct{}{},
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
	j.announced = make(chan struct{})
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
	delete(q.parked, j)
	if completed {
		q.done.add(j.headKey())
	}
	j.cancel(nil)
}

// park sets j aside until f runs after d (a retry): it stays registered,
// so a duplicate delivery is still a duplicate and a newer push still
// cancels it.
func (q *queue) park(j *job, d time.Duration, f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.parked[j] = struct{}{}
	j.timer = time.AfterFunc(d, f)
}

// requeue offers a parked job again without waiting: ok when queued,
// closed when the queue no longer takes jobs.
func (q *queue) requeue(j *job) (ok, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false, true
	}
	if context.Cause(j.ctx) != nil {
		return false, false
	}
	select {
	case q.slots <- struct{}{}:
	default:
		return false, false
	}
	delete(q.parked, j)
	q.ch <- j // never blocks: a slot is held
	q.m.queueDepth.Inc()
	return true, false
}

// unpark returns the parked jobs whose timer could be stopped: a shutdown
// ends them itself.
func (q *queue) unpark() []*job {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*job
	for j := range q.parked {
		if j.timer != nil && j.timer.Stop() {
			out = append(out, j)
			delete(q.parked, j)
		}
	}
	return out
}

// held reports whether this replica holds the head of pull request key
// (owner/repo#n, lower case) at sha: queued, running or parked.
func (q *queue) held(key, sha string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.inflight[key+"@"+sha] != nil
}

// holding lists the jobs whose runs this replica leases.
func (q *queue) holding() []*job {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]*job, 0, len(q.all))
	for j := range q.all {
		out = append(out, j)
	}
	return out
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
