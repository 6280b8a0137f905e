package resume

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Hub is the instance's one subscription for nudges: a blocking XREAD per replaying client
// would hold a Redis pool connection each for as long as it waits, so replays wait on the Hub
// instead, and read with short XRANGE calls (bounded by Store.readers) when nudged. The Hub
// subscribes a generation's channel while any local replay watches it, on a single connection.
type Hub struct {
	ps       *redis.PubSub
	ctx      context.Context
	mu       sync.Mutex
	watchers map[string]map[*Watch]struct{}
}

// Watch is one replay's interest in a channel: C receives (coalesced) when it was nudged.
type Watch struct {
	C       chan struct{}
	hub     *Hub
	channel string
}

// NewHub opens the subscription connection and delivers nudges until ctx ends.
func NewHub(ctx context.Context, rdb redis.UniversalClient) *Hub {
	h := &Hub{ps: rdb.Subscribe(ctx), ctx: ctx, watchers: map[string]map[*Watch]struct{}{}}
	go h.run()
	return h
}

func (h *Hub) run() {
	defer h.ps.Close()
	ch := h.ps.Channel()
	for {
		select {
		case <-h.ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			h.mu.Lock()
			for w := range h.watchers[m.Channel] {
				w.nudge()
			}
			h.mu.Unlock()
		}
	}
}

// watch subscribes channel (for the first watcher) and returns a watch to Close.
func (h *Hub) watch(channel string) *Watch {
	w := &Watch{C: make(chan struct{}, 1), hub: h, channel: channel}
	h.mu.Lock()
	defer h.mu.Unlock()
	set, ok := h.watchers[channel]
	if !ok {
		set = map[*Watch]struct{}{}
		h.watchers[channel] = set
		// A failed subscribe only costs latency: the replay polls as well.
		_ = h.ps.Subscribe(h.ctx, channel)
	}
	set[w] = struct{}{}
	return w
}

func (w *Watch) nudge() { wake(w.C) } // one pending nudge is as good as many

// Close ends the watch, unsubscribing the channel after its last watcher.
func (w *Watch) Close() {
	h := w.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.watchers[w.channel]
	delete(set, w)
	if len(set) == 0 {
		delete(h.watchers, w.channel)
		_ = h.ps.Unsubscribe(h.ctx, w.channel)
	}
}
