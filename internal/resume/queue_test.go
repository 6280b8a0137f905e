package resume

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestEventQueueRunsAWriterOnlyWhileThereIsWork: the test plays the writer that start would run.
// A writer is started by the first event and not again while it runs; it stops when a take finds
// nothing, and the next event starts another. Events come out in the order pushed, at most
// batchSize per take; a push waits while queueSize events are queued and goes on once a take makes
// room; a due heartbeat asks for a write without events; a closed queue hands out what it holds
// and then says it ended; and the queue holds no room for events it does not have.
func TestEventQueueRunsAWriterOnlyWhileThereIsWork(t *testing.T) {
	var starts atomic.Int32
	q := newEventQueue(func() { starts.Add(1) })
	if cap(q.items) != 0 || starts.Load() != 0 {
		t.Fatalf("a new queue holds room for %d events and started %d writers, want none", cap(q.items), starts.Load())
	}
	for i := range queueSize {
		q.push(entry{seq: int64(i + 1)})
	}
	if n := starts.Load(); n != 1 {
		t.Fatalf("%d writers started for one backlog, want 1", n)
	}
	pushed := make(chan struct{})
	go func() {
		q.push(entry{seq: queueSize + 1})
		close(pushed)
	}()
	select {
	case <-pushed:
		t.Fatalf("push beyond %d queued events did not wait", queueSize)
	case <-time.After(50 * time.Millisecond):
	}

	var got []entry
	batch, write, ended := q.take(nil)
	if len(batch) != batchSize || !write || ended {
		t.Fatalf("first take = %d events, write %v, ended %v; want %d to write", len(batch), write, ended, batchSize)
	}
	got = append(got, batch...)
	<-pushed // room was made
	for write {
		if batch, write, ended = q.take(batch[:0]); len(batch) > batchSize || ended {
			t.Fatalf("take returned %d events (ended %v), want at most %d of an open queue", len(batch), ended, batchSize)
		}
		got = append(got, batch...)
	}
	if len(got) != queueSize+1 {
		t.Fatalf("took %d events, want %d", len(got), queueSize+1)
	}
	for i, e := range got {
		if e.seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: out of order", i, e.seq)
		}
	}
	if cap(q.items) > keptCapacity {
		t.Errorf("a drained queue keeps room for %d events, want at most %d", cap(q.items), keptCapacity)
	}

	// The writer stopped; a heartbeat starts the next, which writes once without events.
	q.mu.Lock()
	q.beatDue = true
	q.wakeWriter()
	q.mu.Unlock()
	if n := starts.Load(); n != 2 {
		t.Fatalf("%d writers started after the heartbeat, want 2", n)
	}
	if batch, write, _ = q.take(batch[:0]); len(batch) != 0 || !write {
		t.Fatalf("heartbeat take = %d events, write %v; want a write without events", len(batch), write)
	}
	if _, write, _ = q.take(batch[:0]); write {
		t.Fatal("a second take after the heartbeat asked for a write")
	}

	q.push(entry{seq: 1, last: true})
	q.close()
	if n := starts.Load(); n != 3 {
		t.Fatalf("%d writers started, want 3 (one more for the last event, none for close while it runs)", n)
	}
	if batch, write, ended = q.take(batch[:0]); len(batch) != 1 || !write || ended {
		t.Fatalf("take after close = %d events, write %v, ended %v; want the last event first", len(batch), write, ended)
	}
	if _, write, ended = q.take(batch[:0]); write || !ended {
		t.Fatalf("take of a drained closed queue: write %v, ended %v; want ended", write, ended)
	}
}

// TestEventQueueHeartbeat: while open, the queue asks for a write every interval even without
// events; once closed it asks for none.
func TestEventQueueHeartbeat(t *testing.T) {
	started := make(chan struct{}, 16)
	q := newEventQueue(func() { started <- struct{}{} })
	q.heartbeat(5 * time.Millisecond)
	for range 3 {
		select {
		case <-started:
		case <-time.After(time.Second):
			t.Fatal("no heartbeat write started")
		}
		if _, write, _ := q.take(nil); !write {
			t.Fatal("a heartbeat's take asked for no write")
		}
		if _, write, _ := q.take(nil); write {
			t.Fatal("the heartbeat asked for a second write")
		}
	}
	q.close()
	<-started // close starts a writer to hand out the end
	if _, write, ended := q.take(nil); write || !ended {
		t.Fatalf("take after close: write %v, ended %v", write, ended)
	}
	select {
	case <-started:
		t.Fatal("a heartbeat after close")
	case <-time.After(30 * time.Millisecond):
	}
}
