package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ccbackend/ccbackend/internal/periodic"
)

// sweeper runs a periodic task (periodic.Every) on one goroutine, from its first start until
// halt: what gives expired leases and spares back. Its owner calls start and halt under its own
// lock, and never start once it has begun to halt.
type sweeper struct {
	cancel context.CancelFunc // nil until started
	done   chan struct{}
}

// start runs task every period, once started; later starts do nothing.
func (w *sweeper) start(period time.Duration, task func()) {
	if w.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		// The task logs its own failures: Every has none to log.
		periodic.Every(ctx, period, slog.New(slog.DiscardHandler), "ratelimit: sweep", func(context.Context) error {
			task()
			return nil
		})
	}()
}

// halt stops the task and waits for a run in progress; a sweeper never started has nothing to stop.
func (w *sweeper) halt() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
	}
}

// shut sets *closed under mu and halts the sweeper, once: it reports whether this call did, so
// that only the first Close gives back what is held.
func (w *sweeper) shut(mu *sync.Mutex, closed *bool) bool {
	mu.Lock()
	first := !*closed
	*closed = true
	mu.Unlock()
	if first {
		w.halt()
	}
	return first
}
