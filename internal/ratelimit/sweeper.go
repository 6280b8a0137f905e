package ratelimit

import (
	"sync"
	"time"
)

// sweeper runs a periodic task on one goroutine, from its first start until halt: what gives
// expired leases and spares back. Its owner calls start and halt under its own lock, and never
// start once it has begun to halt.
type sweeper struct {
	stop chan struct{} // nil until started
	done chan struct{}
}

// start runs task every period, once started; later starts do nothing.
func (w *sweeper) start(period time.Duration, task func()) {
	if w.stop != nil {
		return
	}
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
				task()
			}
		}
	}()
}

// halt stops the task and waits for a run in progress; a sweeper never started has nothing to stop.
func (w *sweeper) halt() {
	if w.stop != nil {
		close(w.stop)
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
