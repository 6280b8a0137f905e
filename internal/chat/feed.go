package chat

import (
	"context"
	"log/slog"
	"sync"

	"github.com/ccbackend/ccbackend/internal/events"
)

// feedQueue publishes one generation's events in order, from a goroutine that runs only while
// events wait, so that relaying a text delta to the client never waits for the Redis round trip
// that puts it on the user's feed (one per delta, before, was most of what a stream spent between
// the upstream's chunk and the client's). Each drain publishes everything that waits in one
// round trip (a chat request's started, delta and end cost one or two instead of three), and
// deltas that queue up behind a publish in flight are merged into one generation.delta (their
// text concatenated, in order) of at most mergedDeltaMax bytes, so a slow Redis costs fewer,
// larger events rather than a growing queue.
type feedQueue struct {
	mu      sync.Mutex
	pending []feedItem
	running bool
	deltas  int // generation.delta events made so far: the next one's index
}

// feedItem is one event waiting to be published.
type feedItem struct {
	typ   events.Type
	data  any        // the event's data (events.go), encoded when published
	delta *deltaData // a delta's data, whose text may still grow while it waits
}

const (
	// mergedDeltaMax bounds a merged delta well below events.MaxFrameBytes.
	mergedDeltaMax = 16 << 10
	// feedBatchMax bounds what one publish carries (at most about 1 MiB of merged deltas), so
	// that one script run never holds Redis long.
	feedBatchMax = 64
)

// publishFunc publishes a batch of events in their order.
type publishFunc func([]feedItem)

// push queues an event. wg tracks the publisher so that shutdown can wait for the feed to drain.
func (q *feedQueue) push(typ events.Type, data any, publish publishFunc, wg *sync.WaitGroup) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.enqueue(feedItem{typ: typ, data: data}, publish, wg)
}

// pushDelta queues a text delta, merged into the delta waiting last when there is one and the
// text fits; a delta never merges across another event.
func (q *feedQueue) pushDelta(ref feedRef, text string, publish publishFunc, wg *sync.WaitGroup) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := len(q.pending); n > 0 {
		if last := q.pending[n-1].delta; last != nil && last.text.Len()+len(text) <= mergedDeltaMax {
			last.text.WriteString(text)
			return
		}
	}
	d := &deltaData{feedRef: ref, Index: q.deltas}
	q.deltas++
	d.text.WriteString(text)
	q.enqueue(feedItem{typ: events.GenerationDelta, data: d, delta: d}, publish, wg)
}

// enqueue appends item and starts the publisher if it is idle (q.mu held).
func (q *feedQueue) enqueue(item feedItem, publish publishFunc, wg *sync.WaitGroup) {
	q.pending = append(q.pending, item)
	if q.running {
		return
	}
	q.running = true
	wg.Add(1)
	go q.drain(publish, wg)
}

// drain publishes what waits, oldest first and up to feedBatchMax events at a time, until
// nothing does.
func (q *feedQueue) drain(publish publishFunc, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		n := min(len(q.pending), feedBatchMax)
		batch := q.pending[:n:n]
		q.pending = q.pending[n:]
		for _, item := range batch {
			if item.delta != nil {
				item.delta.Delta = item.delta.text.String() // taken off the queue: nothing merges into it now
			}
		}
		q.mu.Unlock()
		publish(batch)
	}
}

// raise puts one event of the generation on the caller's feed, after every event raised before
// it; a failure is logged (the feed is a notification).
func (g *Generation) raise(typ events.Type, data any) {
	if g.svc.events != nil {
		g.feed.push(typ, data, g.publish, &g.svc.feeding)
	}
}

// raiseDelta puts a text delta on the caller's feed, like raise.
func (g *Generation) raiseDelta(text string) {
	if g.svc.events != nil {
		g.feed.pushDelta(g.ref(), text, g.publish, &g.svc.feeding)
	}
}

// publish encodes a batch (once: the bus writes the encoded data as it is) and publishes it in
// one round trip.
func (g *Generation) publish(batch []feedItem) {
	session := ""
	if g.sessionID != nil {
		session = g.sessionID.String()
	}
	drafts := make([]events.Draft, 0, len(batch))
	for _, item := range batch {
		d, err := events.NewDraft(item.typ, session, item.data)
		if err != nil {
			g.svc.log.Warn("events: publish", slog.String("type", string(item.typ)), slog.String("error", err.Error()))
			continue
		}
		drafts = append(drafts, d)
	}
	if err := g.svc.events.PublishAll(context.WithoutCancel(g.parent), g.caller.UserID, drafts); err != nil {
		g.svc.log.Warn("events: publish", slog.Int("events", len(drafts)), slog.String("error", err.Error()))
	}
}
