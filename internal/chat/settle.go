package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// settler applies what ended generations give back — the token reservation settled to the real
// usage, the generation slot freed — off the response path: from a bounded queue that one
// goroutine drains, many settlements per Redis round trip. A full queue (or a stopped settler)
// never drops one: the caller applies it itself. It keeps count of the settlements each user is
// still owed, so that a refusal they may have caused is decided again once they are applied
// (Service.admit).
type settler struct {
	limits Limits
	log    *slog.Logger
	queue  chan settlement
	done   chan struct{}

	mu     sync.RWMutex // held (read) while sending on queue, (write) to close it
	closed bool
	owedMu sync.Mutex
	owed   map[uuid.UUID]int // settlements queued, not yet applied, per user
}

// settlement is one generation's end: reserved tokens (0: none) become used, and lease (nil:
// none) is released. A flush carries neither: once the worker reaches it, everything queued
// before it was applied.
type settlement struct {
	user     uuid.UUID
	reserved int
	used     int
	lease    *ratelimit.Lease
	flushed  chan struct{}
}

const (
	settleQueue   = 4096
	settleBatch   = 128 // settlements per round trip at most
	settleTimeout = 5 * time.Second
)

func newSettler(limits Limits, log *slog.Logger) *settler {
	t := &settler{limits: limits, log: log, queue: make(chan settlement, settleQueue), done: make(chan struct{}), owed: map[uuid.UUID]int{}}
	go t.run()
	return t
}

// settle queues st, or applies it at once when the queue is full or the settler stopped.
func (t *settler) settle(st settlement) {
	if (st.reserved == 0 || st.reserved == st.used) && st.lease == nil {
		return // nothing to give back or charge
	}
	t.mu.RLock()
	queued := false
	if !t.closed {
		t.owe(st.user, 1)
		select {
		case t.queue <- st:
			queued = true
		default:
			t.owe(st.user, -1)
		}
	}
	t.mu.RUnlock()
	if !queued {
		t.apply(context.Background(), []settlement{st})
	}
}

func (t *settler) owe(user uuid.UUID, n int) {
	t.owedMu.Lock()
	defer t.owedMu.Unlock()
	if t.owed[user] += n; t.owed[user] <= 0 {
		delete(t.owed, user)
	}
}

// owes reports whether settlements of user are queued and not yet applied.
func (t *settler) owes(user uuid.UUID) bool {
	t.owedMu.Lock()
	defer t.owedMu.Unlock()
	return t.owed[user] > 0
}

// flush waits until every settlement queued before the call was applied. Unlike a settlement it
// waits for room in the queue.
func (t *settler) flush(ctx context.Context) error {
	flushed := make(chan struct{})
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return nil // close applied everything
	}
	select {
	case t.queue <- settlement{flushed: flushed}:
	case <-ctx.Done():
		t.mu.RUnlock()
		return ctx.Err()
	}
	t.mu.RUnlock()
	select {
	case <-flushed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close applies what is queued and stops; later settlements are applied by their callers.
func (t *settler) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	close(t.queue)
	t.mu.Unlock()
	<-t.done
}

// run applies the queue in batches: what waits when the worker is free, up to settleBatch, with
// no lingering (a freed slot is wanted at once).
func (t *settler) run() {
	defer close(t.done)
	batch := make([]settlement, 0, settleBatch)
	for st := range t.queue {
		batch = append(batch[:0], st)
	gather:
		for len(batch) < settleBatch {
			select {
			case st, ok := <-t.queue:
				if !ok {
					break gather
				}
				batch = append(batch, st)
			default:
				break gather
			}
		}
		t.apply(context.Background(), batch)
		for _, st := range batch {
			if st.flushed != nil {
				close(st.flushed)
			} else {
				t.owe(st.user, -1)
			}
		}
	}
}

// apply sends a batch's settlements in one pipeline and logs what failed: a settlement that
// failed leaves the reservation standing (it refills over the budget's period) and the lease to
// expire by itself.
func (t *settler) apply(ctx context.Context, batch []settlement) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	limiter := t.limits.Limiter
	var checks []func()
	var settled []func(context.Context) error
	p := t.limits.pipeline()
	if p == nil {
		return
	}
	for _, st := range batch {
		if st.lease != nil {
			checks = append(checks, st.lease.QueueRelease(ctx, p))
		}
		if st.reserved != 0 && limiter != nil && t.limits.Tokens != nil {
			settled = append(settled, limiter.QueueSettle(ctx, p, tokenKey(Caller{UserID: st.user}), *t.limits.Tokens, st.reserved, st.used))
		}
	}
	if len(checks) == 0 && len(settled) == 0 {
		return
	}
	_, _ = p.Exec(ctx) // each command carries its own error, read below
	for _, check := range checks {
		check()
	}
	for _, read := range settled {
		if err := read(ctx); err != nil {
			t.log.Error("settling the token budget failed; the reservation stands", slog.String("error", err.Error()))
		}
	}
}

// pipeline starts a pipeline on the limits' Redis (the budget and the semaphore share one), or
// returns nil when neither limit is configured.
func (l Limits) pipeline() redis.Pipeliner {
	switch {
	case l.Limiter != nil:
		return l.Limiter.Pipeline()
	case l.Generations != nil:
		return l.Generations.Pipeline()
	}
	return nil
}

// capped reports whether running generations are counted against a cap.
func (l Limits) capped() bool { return l.Generations != nil && l.MaxGenerations > 0 }
