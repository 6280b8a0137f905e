package chat

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/ccbackend/ccbackend/internal/events"
)

// feedQueue publishes one generation's events in order, from a goroutine that runs only while
// events wait, so that relaying a text delta to the client never waits for the Redis round trip
// that puts it on the user's feed (one per delta, before, was most of what a stream spent between
// the upstream's chunk and the client's). Deltas that queue up behind a publish in flight are
// merged into one generation.delta (their text concatenated, in order) of at most
// mergedDeltaMax bytes, so a slow Redis costs fewer, larger events rather than a growing queue.
type feedQueue struct {
	mu      sync.Mutex
	pending []feedItem
	running bool
	deltas  int // generation.delta events made so far: the next one's index
}

type feedItem struct {
	typ  events.Type
	data map[string]any
	text *strings.Builder // a delta's text while it may still absorb later deltas
}

// mergedDeltaMax bounds a merged delta well below events.MaxFrameBytes.
const mergedDeltaMax = 16 << 10

// push queues an event, merging a text delta into a waiting one, and starts the publisher if it
// is idle. wg tracks the publisher so that shutdown can wait for the feed to drain.
func (q *feedQueue) push(typ events.Type, data map[string]any, delta string, publish func(events.Type, map[string]any), wg *sync.WaitGroup) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if typ == events.GenerationDelta {
		if n := len(q.pending); n > 0 && q.pending[n-1].text != nil && q.pending[n-1].text.Len()+len(delta) <= mergedDeltaMax {
			q.pending[n-1].text.WriteString(delta)
			return
		}
		data["index"] = q.deltas
		q.deltas++
		item := feedItem{typ: typ, data: data, text: &strings.Builder{}}
		item.text.WriteString(delta)
		q.pending = append(q.pending, item)
	} else {
		q.pending = append(q.pending, feedItem{typ: typ, data: data})
	}
	if q.running {
		return
	}
	q.running = true
	wg.Add(1)
	go q.drain(publish, wg)
}

// drain publishes what waits, oldest first, until nothing does.
func (q *feedQueue) drain(publish func(events.Type, map[string]any), wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		item := q.pending[0]
		q.pending = q.pending[1:]
		if item.text != nil {
			item.data["delta"] = item.text.String() // taken off the queue: nothing merges into it now
		}
		q.mu.Unlock()
		publish(item.typ, item.data)
	}
}

// raise puts one event of the generation on the caller's feed, after every event raised before
// it; a failure is logged (the feed is a notification).
func (g *Generation) raise(typ events.Type, data map[string]any) { g.raiseText(typ, data, "") }

func (g *Generation) raiseText(typ events.Type, data map[string]any, delta string) {
	if g.svc.events == nil {
		return
	}
	data["generation_id"] = g.ID
	data["session_id"] = g.sessionID
	g.feed.push(typ, data, delta, g.publish, &g.svc.feeding)
}

func (g *Generation) publish(typ events.Type, data map[string]any) {
	if err := g.svc.events.Publish(context.WithoutCancel(g.parent), g.caller.UserID, typ, data); err != nil {
		g.svc.log.Warn("events: publish", slog.String("type", string(typ)), slog.String("error", err.Error()))
	}
}
