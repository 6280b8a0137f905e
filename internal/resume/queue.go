package resume

import "sync"

// eventQueue holds a recording's events until its writer takes them: at most queueSize (push
// blocks beyond that, which bounds what a slow Redis can take), in a slice that grows with the
// backlog and is let go once drained. A channel buffered for queueSize held 32 KiB per open
// stream whether or not anything waited, which was most of a stream's memory; the backlog is
// usually one or two events. One goroutine pushes and one takes.
type eventQueue struct {
	mu     sync.Mutex
	items  []entry
	closed bool
	ready  chan struct{} // a wake-up for the taker: items arrived, or the queue was closed
	room   chan struct{} // a wake-up for a blocked push: the taker made room
}

// keptCapacity is the most room a drained queue keeps for the next events.
const keptCapacity = 64

func newEventQueue() *eventQueue {
	return &eventQueue{ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// push queues e, waiting while queueSize events are already queued.
func (q *eventQueue) push(e entry) {
	q.mu.Lock()
	for len(q.items) >= queueSize {
		q.mu.Unlock()
		<-q.room
		q.mu.Lock()
	}
	q.items = append(q.items, e)
	q.mu.Unlock()
	wake(q.ready)
}

// close tells the taker that nothing more comes once it has taken what is queued.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	wake(q.ready)
}

// take appends up to batchSize queued events to batch, oldest first; open is false once the
// queue is closed and nothing is left. Events left behind (a backlog over batchSize) wake the
// taker again.
func (q *eventQueue) take(batch []entry) (_ []entry, open bool) {
	q.mu.Lock()
	n := min(len(q.items), batchSize)
	batch = append(batch, q.items[:n]...)
	left := copy(q.items, q.items[n:])
	clear(q.items[left:]) // the taken events' text is the batch's now
	q.items = q.items[:left]
	if left == 0 && cap(q.items) > keptCapacity {
		q.items = nil // a burst's backlog is not kept for the rest of the stream
	}
	open = !q.closed || left > 0
	q.mu.Unlock()
	if n > 0 {
		wake(q.room)
	}
	if left > 0 {
		wake(q.ready)
	}
	return batch, open
}

// wake sends a wake-up on c unless one is pending already.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
