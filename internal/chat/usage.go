package chat

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

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

// usageRecord is one event to store; stored, when set, gets the outcome once it is stored. A
// flush record carries no event: it ends the batch it arrives in, and stored hears once that
// batch, and so everything queued before it, was written.
type usageRecord struct {
	params db.InsertUsageEventsParams
	stored chan<- error
	flush  bool
}

const (
	usageQueue   = 4096 // events waiting; more are dropped (logged) rather than hold up streams
	usageBatch   = 256  // events per round trip at most
	usageLinger  = 5 * time.Millisecond
	usageTimeout = 10 * time.Second
)

func newUsageWriter(st *store.Store, log *slog.Logger) *usageWriter {
	w := &usageWriter{store: st, log: log, queue: make(chan usageRecord, usageQueue), done: make(chan struct{})}
	go w.run()
	return w
}

// errUsageQueueFull is returned, and logged, when events come faster than the database takes
// them (or while it is unreachable): the stream is not held up, the event is lost.
var errUsageQueueFull = errors.New("usage event dropped: the writer's queue is full")

// add queues an event. Every loss is logged by the writer, here or when a batch fails.
func (w *usageWriter) add(p db.InsertUsageEventsParams) {
	_ = w.enqueue(usageRecord{params: p})
}

// addAndWait queues an event and waits until it is stored.
func (w *usageWriter) addAndWait(ctx context.Context, p db.InsertUsageEventsParams) error {
	stored := make(chan error, 1)
	if !w.enqueue(usageRecord{params: p, stored: stored}) {
		return errUsageQueueFull
	}
	select {
	case err := <-stored:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush waits until every event queued before it was written (stored or, logged, lost). Unlike
// an event it is never dropped: it waits for room in the queue.
func (w *usageWriter) flush(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case w.queue <- usageRecord{stored: done, flush: true}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue queues r unless the queue is full, which it logs.
func (w *usageWriter) enqueue(r usageRecord) bool {
	select {
	case w.queue <- r:
		return true
	default:
		w.log.Error(errUsageQueueFull.Error(), slog.String("user_id", r.params.UserID.String()), slog.String("model", r.params.Model))
		return false
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
		for len(batch) < usageBatch && !batch[len(batch)-1].flush {
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

// write stores a batch. PostgreSQL runs a batch as one transaction, so when it refuses a row
// (its user deleted meanwhile, say) the others are stored one by one and only that one is lost;
// when the database cannot be reached at all, the batch is lost at once rather than retried
// event by event.
func (w *usageWriter) write(batch []usageRecord) {
	if last := batch[len(batch)-1]; last.flush { // only ever the last one (see run)
		defer func() { last.stored <- nil }()
		if batch = batch[:len(batch)-1]; len(batch) == 0 {
			return
		}
	}
	errs := w.insert(batch)
	if len(batch) > 1 && refusedRow(errs) {
		for _, r := range batch {
			one := []usageRecord{r}
			w.report(one, w.insert(one))
		}
		return
	}
	w.report(batch, errs)
}

// insert stores records in one round trip and returns each one's outcome: several as one
// statement (a refusal of any is then every one's outcome, and write stores them one by one).
func (w *usageWriter) insert(records []usageRecord) []error {
	ctx, cancel := context.WithTimeout(context.Background(), usageTimeout)
	defer cancel()
	errs := make([]error, len(records))
	if rows, ok := usageRows(records); ok {
		err := w.store.Queries().InsertUsageEventRows(ctx, rows)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	params := make([]db.InsertUsageEventsParams, len(records))
	for i, r := range records {
		params[i] = r.params
	}
	w.store.Queries().InsertUsageEvents(ctx, params).Exec(func(i int, err error) { errs[i] = err })
	return errs
}

// usageRow is one event as InsertUsageEventRows reads it from its JSON array.
type usageRow struct {
	UserID           uuid.UUID  `json:"user_id"`
	APIKeyID         *uuid.UUID `json:"api_key_id"`
	SessionID        *uuid.UUID `json:"session_id"`
	Model            string     `json:"model"`
	Provider         string     `json:"provider"`
	InputTokens      int64      `json:"input_tokens"`
	OutputTokens     int64      `json:"output_tokens"`
	CacheReadTokens  int64      `json:"cache_read_tokens"`
	CacheWriteTokens int64      `json:"cache_write_tokens"`
	Cost             float64    `json:"cost"`
	Status           string     `json:"status"`
	StopReason       *string    `json:"stop_reason"`
	TTFTMs           *float64   `json:"ttft_ms"`
	DurationMs       float64    `json:"duration_ms"`
	// In microseconds, as the database keeps it (and the one-by-one insert sends it): its
	// parse of more digits would round instead.
	CreatedAt time.Time `json:"created_at"`
}

// usageRows is records as InsertUsageEventRows takes them; ok is false for a single event, and
// for events JSON cannot carry (a NaN cost, say), which are then stored one by one as before.
func usageRows(records []usageRecord) (body []byte, ok bool) {
	if len(records) < 2 {
		return nil, false
	}
	rows := make([]usageRow, len(records))
	for i, r := range records {
		p := r.params
		rows[i] = usageRow{UserID: p.UserID, APIKeyID: p.ApiKeyID, SessionID: p.SessionID, Model: p.Model, Provider: p.Provider,
			InputTokens: p.InputTokens, OutputTokens: p.OutputTokens, CacheReadTokens: p.CacheReadTokens, CacheWriteTokens: p.CacheWriteTokens,
			Cost: p.Cost, Status: p.Status, StopReason: p.StopReason, TTFTMs: p.TtftMs, DurationMs: p.DurationMs, CreatedAt: p.Now.Truncate(time.Microsecond)}
	}
	body, err := json.Marshal(rows)
	return body, err == nil
}

// report tells waiters how their events went and logs the losses, once per batch.
func (w *usageWriter) report(records []usageRecord, errs []error) {
	lost := 0
	var first error
	for i, r := range records {
		if errs[i] != nil {
			lost++
			first = cmp.Or(first, errs[i])
		}
		if r.stored != nil {
			r.stored <- errs[i]
		}
	}
	if lost > 0 {
		w.log.Error("recording usage events failed", slog.Int("lost", lost), slog.String("error", first.Error()))
	}
}

// refusedRow reports whether PostgreSQL itself refused a statement (rather than being unreachable).
func refusedRow(errs []error) bool {
	for _, err := range errs {
		var pg *pgconn.PgError
		if errors.As(err, &pg) {
			return true
		}
	}
	return false
}
