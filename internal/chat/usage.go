package chat

import (
	"context"
	"log/slog"
	"time"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/store"
)

// usageWriter stores usage events from one goroutine, in batches: once an event arrives it
// gathers what else comes within usageLinger and stores all of them in one round trip. A busy
// instance so spends neither a connection and a round trip per stream that ends, nor the
// database work right at the moment a stream's last bytes are on their way to the client.
type usageWriter struct {
	store *store.Store
	log   *slog.Logger
	queue chan usageRecord
	done  chan struct{}
}

// usageRecord is one event to store; stored, when set, gets the outcome once it is stored.
type usageRecord struct {
	params db.InsertUsageEventsParams
	stored chan<- error
}

const (
	usageQueue   = 4096 // events waiting; a stream that ends with the queue full waits its turn
	usageBatch   = 256  // events per round trip at most
	usageLinger  = 5 * time.Millisecond
	usageTimeout = 10 * time.Second
)

func newUsageWriter(st *store.Store, log *slog.Logger) *usageWriter {
	w := &usageWriter{store: st, log: log, queue: make(chan usageRecord, usageQueue), done: make(chan struct{})}
	go w.run()
	return w
}

// add queues an event.
func (w *usageWriter) add(p db.InsertUsageEventsParams) { w.queue <- usageRecord{params: p} }

// addAndWait queues an event and waits until it is stored.
func (w *usageWriter) addAndWait(ctx context.Context, p db.InsertUsageEventsParams) error {
	stored := make(chan error, 1)
	w.queue <- usageRecord{params: p, stored: stored}
	select {
	case err := <-stored:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stores what is queued and stops; nothing may be added afterwards.
func (w *usageWriter) close() {
	close(w.queue)
	<-w.done
}

func (w *usageWriter) run() {
	defer close(w.done)
	batch := make([]usageRecord, 0, usageBatch)
	linger := time.NewTimer(usageLinger)
	for r := range w.queue {
		batch = append(batch[:0], r)
		linger.Reset(usageLinger)
	gather:
		for len(batch) < usageBatch {
			select {
			case r, ok := <-w.queue:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			case <-linger.C:
				break gather
			}
		}
		w.write(batch)
	}
}

// write sends a batch, which PostgreSQL runs as one transaction; if it fails, each event is
// tried on its own so that one bad event (its user deleted meanwhile) loses only itself.
func (w *usageWriter) write(batch []usageRecord) {
	errs := w.insert(batch)
	if errs == nil {
		return
	}
	for _, r := range batch {
		if err := w.insert([]usageRecord{r}); err != nil {
			w.log.Error("recording a usage event failed", slog.String("error", err[0].Error()))
		}
	}
}

// insert stores records in one round trip and reports each outcome to whoever waits for it;
// it returns the errors, or nil when all were stored.
func (w *usageWriter) insert(records []usageRecord) []error {
	ctx, cancel := context.WithTimeout(context.Background(), usageTimeout)
	defer cancel()
	params := make([]db.InsertUsageEventsParams, len(records))
	for i, r := range records {
		params[i] = r.params
	}
	errs := make([]error, len(records))
	failed := false
	w.store.Queries().InsertUsageEvents(ctx, params).Exec(func(i int, err error) {
		errs[i] = err
		failed = failed || err != nil
	})
	if failed && len(records) > 1 {
		return errs // retried one by one; only then do waiters hear
	}
	for i, r := range records {
		if r.stored != nil {
			r.stored <- errs[i]
		}
	}
	if failed {
		return errs
	}
	return nil
}
