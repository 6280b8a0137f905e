package resume

import (
	"sync"
	"time"
)

// eventQueue holds a recording's events until its writer takes them, and decides when a writer
// runs: one is started by the event, heartbeat or close that finds none running, and it stops
// once nothing is left to write, so an open stream with nothing to write holds no goroutine.
// At most queueSize events wait (push blocks beyond that, which bounds what a slow Redis can
// take), in a slice that grows with the backlog and is let go once drained: a channel buffered
// for queueSize held 32 KiB per open stream whether or not anything waited, and the backlog is
// usually one or two events. One goroutine pushes.
type eventQueue struct {
	mu      sync.Mutex
	items   []entry
	writing bool // a writer runs; at most one does
	beatDue bool // the heartbeat is due: the next take asks for a write even without events
	closed  bool
	beat    *time.Timer   // the heartbeat, while the queue is open
	start   func()        // runs a writer
	room    chan struct{} // a wake-up for a blocked push: the writer made room
}

// keptCapacity is the most room a drained queue keeps for the next events.
const keptCapacity = 64

// newEventQueue returns a queue that calls start (to run a writer) whenever one is needed.
func newEventQueue(start func()) *eventQueue {
	return &eventQueue{start: start, room: make(chan struct{}, 1)}
}

// heartbeat has the queue ask for a write every interval until it is closed.
func (q *eventQueue) heartbeat(interval time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.beat = time.AfterFunc(interval, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.closed {
			return
		}
		q.beatDue = true
		q.wakeWriter()
		q.beat.Reset(interval)
	})
}

// push queues e, waiting while queueSize events are already queued.
func (q *eventQueue) push(e entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) >= queueSize {
		q.mu.Unlock()
		<-q.room
		q.mu.Lock()
	}
	q.items = append(q.items, e)
	q.wakeWriter()
}

// close ends the heartbeat and has a writer take what is queued; the writer's last take then
// says the queue ended.
func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.beat != nil {
		q.beat.Stop()
	}
	q.wakeWriter()
}

// wakeWriter starts a writer unless one runs; q.mu is held.
func (q *eventQueue) wakeWriter() {
	if !q.writing {
		q.writing = true
		q.start()
	}
}

// take hands the writer its next work: up to batchSize queued events appended to batch, oldest
// first, and whether to write (events, or a due heartbeat without any). With nothing to write
// the writer is to stop (the next push, heartbeat or close starts another), and ended says the
// queue was closed: nothing more will come.
func (q *eventQueue) take(batch []entry) (_ []entry, write, ended bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.items), batchSize)
	batch = append(batch, q.items[:n]...)
	left := copy(q.items, q.items[n:])
	clear(q.items[left:]) // the taken events' text is the batch's now
	q.items = q.items[:left]
	if left == 0 && cap(q.items) > keptCapacity {
		q.items = nil // a burst's backlog is not kept for the rest of the stream
	}
	if n > 0 {
		wake(q.room)
	}
	write = n > 0 || q.beatDue // any write refreshes the keys' lifetime
	q.beatDue = false
	if !write {
		q.writing = false
	}
	return batch, write, !write && q.closed
}

// wake sends a wake-up on c unless one is pending already.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
