package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Runs tracks which sessions are generating, across instances: a Redis key marks a running
// session (refreshed while it runs, so a crashed instance's mark expires), and a cancel request
// is published on a channel every instance listens to; the one running the generation cancels
// its context, which closes the upstream request.
type Runs struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	mu     sync.Mutex
	local  map[uuid.UUID]context.CancelFunc
}

const runMarkTTL = 30 * time.Second

// NewRuns returns the registry; call Listen to receive cancellations.
func NewRuns(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Runs {
	return &Runs{rdb: rdb, prefix: prefix, log: log, local: map[uuid.UUID]context.CancelFunc{}}
}

func (r *Runs) markKey(id uuid.UUID) string { return r.prefix + "chat:run:" + id.String() }
func (r *Runs) channel() string             { return r.prefix + "chat:cancel" }

// Listen cancels local generations when any instance publishes their session; it returns when
// ctx ends. The subscription is confirmed before Listen returns from its first step, so call it
// before serving.
func (r *Runs) Listen(ctx context.Context) error {
	sub := r.rdb.Subscribe(ctx, r.channel())
	if _, err := sub.Receive(ctx); err != nil {
		_ = sub.Close()
		return err
	}
	go func() {
		defer sub.Close()
		ch := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				if id, err := uuid.Parse(m.Payload); err == nil {
					r.cancelLocal(id)
				}
			}
		}
	}()
	return nil
}

func (r *Runs) cancelLocal(id uuid.UUID) bool {
	r.mu.Lock()
	cancel, ok := r.local[id]
	r.mu.Unlock()
	if ok {
		cancel()
	}
	return ok
}

// Begin marks the session as generating (409 if it already is) and returns a context that a
// cancel request ends, plus the function that clears the mark.
func (r *Runs) Begin(ctx context.Context, id uuid.UUID) (context.Context, func(), error) {
	ok, err := r.rdb.SetNX(ctx, r.markKey(id), "1", runMarkTTL).Result()
	if err != nil {
		return nil, nil, apperr.Wrap(err, apperr.Unavailable, "unavailable", "the service cannot start a generation right now")
	}
	if !ok {
		return nil, nil, apperr.New(apperr.Conflict, "generation_running", "this session is already generating; cancel it or wait")
	}
	runCtx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	r.local[id] = cancel
	r.mu.Unlock()
	stop := make(chan struct{})
	go func() { // keep the mark alive while the generation runs
		t := time.NewTicker(runMarkTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				r.rdb.Expire(context.WithoutCancel(ctx), r.markKey(id), runMarkTTL)
			}
		}
	}()
	var once sync.Once
	end := func() {
		once.Do(func() {
			close(stop)
			cancel()
			r.mu.Lock()
			delete(r.local, id)
			r.mu.Unlock()
			if err := r.rdb.Del(context.WithoutCancel(ctx), r.markKey(id)).Err(); err != nil {
				r.log.Warn("clearing a run mark failed; it expires by itself", slog.String("error", err.Error()))
			}
		})
	}
	return runCtx, end, nil
}

// Running reports whether any instance is generating for the session.
func (r *Runs) Running(ctx context.Context, id uuid.UUID) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.markKey(id)).Result()
	return n > 0, err
}

// Cancel asks whichever instance runs the session's generation to stop it.
func (r *Runs) Cancel(ctx context.Context, id uuid.UUID) (bool, error) {
	running, err := r.Running(ctx, id)
	if err != nil || !running {
		return false, err
	}
	if r.cancelLocal(id) {
		return true, nil
	}
	return true, r.rdb.Publish(ctx, r.channel(), id.String()).Err()
}
