package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/store"
)

const (
	// touchEvery is how often queued last-use times are written.
	touchEvery = time.Second
	// maxPendingTouches bounds the queue: one entry per key, so only that many distinct keys used
	// within a second could overflow it, and a dropped touch is retried at the key's next use.
	maxPendingTouches = 10_000
)

// keyTouches writes API keys' last_used_at off the request path: uses are coalesced per key
// and flushed every touchEvery, still at most one write per key per lastUsedResolution (the
// query skips a key written less than that ago, by any instance).
type keyTouches struct {
	store *store.Store
	log   *slog.Logger
	mu    sync.Mutex
	// pending is the latest use of each key not yet written.
	pending map[uuid.UUID]time.Time
	stop    chan struct{}
	done    chan struct{}
}

func newKeyTouches(st *store.Store, log *slog.Logger) *keyTouches {
	t := &keyTouches{store: st, log: log, pending: map[uuid.UUID]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	go t.run()
	return t
}

// add queues a use; false when the queue is full.
func (t *keyTouches) add(id uuid.UUID, at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pending[id]; !ok && len(t.pending) >= maxPendingTouches {
		return false
	}
	t.pending[id] = at
	return true
}

func (t *keyTouches) run() {
	defer close(t.done)
	tick := time.NewTicker(touchEvery)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.flush(context.Background())
		}
	}
}

// flush writes every queued use now (also before a list of keys is read, so the owner sees it).
func (t *keyTouches) flush(ctx context.Context) {
	t.mu.Lock()
	batch := t.pending
	if len(batch) == 0 {
		t.mu.Unlock()
		return
	}
	t.pending = map[uuid.UUID]time.Time{}
	t.mu.Unlock()
	q := t.store.Queries()
	for id, at := range batch {
		if err := q.TouchAPIKey(ctx, db.TouchAPIKeyParams{Now: at, ID: id, StaleBefore: at.Add(-lastUsedResolution)}); err != nil {
			t.log.Warn("recording an API key's last use failed", slog.String("api_key_id", id.String()), slog.String("error", err.Error()))
		}
	}
}

// close stops the timer and writes what is queued.
func (t *keyTouches) close() {
	close(t.stop)
	<-t.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.flush(ctx)
}
