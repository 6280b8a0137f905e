package resume

import (
	"testing"
	"time"
)

// TestEventQueueKeepsOrderAndBoundsTheBacklog: events come out in the order pushed, at most
// batchSize per take; a push waits while queueSize events are queued and goes on once the taker
// makes room; a closed queue is open until what it holds is taken; and a queue holds no room for
// events it does not have (none before the first push, at most keptCapacity once drained).
func TestEventQueueKeepsOrderAndBoundsTheBacklog(t *testing.T) {
	q := newEventQueue()
	if cap(q.items) != 0 {
		t.Fatalf("a new queue holds room for %d events, want none", cap(q.items))
	}
	for i := range queueSize {
		q.push(entry{seq: int64(i + 1)})
	}
	pushed := make(chan struct{})
	go func() {
		q.push(entry{seq: queueSize + 1, last: true})
		close(pushed)
	}()
	select {
	case <-pushed:
		t.Fatalf("push beyond %d queued events did not wait", queueSize)
	case <-time.After(50 * time.Millisecond):
	}

	var got []entry
	batch, open := q.take(nil)
	if len(batch) != batchSize || !open {
		t.Fatalf("first take = %d events, open %v; want %d, open", len(batch), open, batchSize)
	}
	got = append(got, batch...)
	<-pushed // room was made
	q.close()
	for open {
		select {
		case <-q.ready:
		case <-time.After(time.Second):
			t.Fatal("no wake-up while events were left")
		}
		if batch, open = q.take(batch[:0]); len(batch) > batchSize {
			t.Fatalf("take returned %d events, more than %d", len(batch), batchSize)
		}
		got = append(got, batch...)
	}
	if len(got) != queueSize+1 || !got[len(got)-1].last {
		t.Fatalf("took %d events (last %+v), want %d ending with the last", len(got), got[len(got)-1], queueSize+1)
	}
	for i, e := range got {
		if e.seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: out of order", i, e.seq)
		}
	}
	if cap(q.items) > keptCapacity {
		t.Errorf("a drained queue keeps room for %d events, want at most %d", cap(q.items), keptCapacity)
	}
}
