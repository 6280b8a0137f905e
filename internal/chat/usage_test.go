package chat_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// lockedBuffer collects log output written from the writer's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// usageStore is a fresh database with one user to charge.
func usageStore(t *testing.T, email string) (*store.Store, uuid.UUID) {
	t.Helper()
	st, err := store.Open(context.Background(), testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var user uuid.UUID
	if err := st.Pool.QueryRow(context.Background(), `INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id`, email).Scan(&user); err != nil {
		t.Fatal(err)
	}
	return st, user
}

// Events queued together go in one batch; one that cannot be stored (its user is gone) loses only
// itself, the others are stored, and close stores everything still queued.
func TestUsageWriterStoresBatchesAndIsolatesABadEvent(t *testing.T) {
	ctx := context.Background()
	st, user := usageStore(t, "usage@example.com")
	var logs lockedBuffer
	w := chat.NewUsageWriter(st, slog.New(slog.NewJSONHandler(&logs, nil)))
	event := func(u uuid.UUID, model string) db.InsertUsageEventsParams {
		return db.InsertUsageEventsParams{UserID: u, Model: model, Provider: "anthropic", InputTokens: 3, OutputTokens: 5,
			Cost: 0.25, Status: "completed", DurationMs: 12.5, Now: time.Now()}
	}
	for i := range 300 { // more than one batch
		w.Add(event(user, "m"+strings.Repeat("x", i%3)))
		if i == 150 {
			w.Add(event(uuid.New(), "orphan"))
		}
	}
	if err := w.AddAndWait(ctx, event(user, "waited")); err != nil {
		t.Fatalf("addAndWait: %v", err)
	}
	var waited int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_events WHERE model = 'waited'`).Scan(&waited); err != nil || waited != 1 {
		t.Fatalf("the waited-for event is not stored on return: %d (%v)", waited, err)
	}
	w.Add(event(user, "last"))
	w.Close()

	var stored, orphans int
	var cost float64
	if err := st.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(cost), 0), count(*) FILTER (WHERE model = 'orphan') FROM usage_events`).Scan(&stored, &cost, &orphans); err != nil {
		t.Fatal(err)
	}
	if stored != 302 || orphans != 0 || cost != 302*0.25 {
		t.Errorf("stored %d events (%d orphans, cost %v), want 302, 0, %v", stored, orphans, cost, 302*0.25)
	}
	if !strings.Contains(logs.String(), "recording usage events failed") {
		t.Errorf("the lost event was not logged:\n%s", logs.String())
	}
}

// One statement for a batch stores each event as storing it alone does: the session's project,
// the NULLs, the cost and the time to the microsecond.
func TestUsageBatchStatementStoresEventsAsOneByOne(t *testing.T) {
	ctx := context.Background()
	st, user := usageStore(t, "rows@example.com")
	var session uuid.UUID
	if err := st.Pool.QueryRow(ctx, `WITH p AS (INSERT INTO projects (user_id, name) VALUES ($1, 'p') RETURNING id)
		INSERT INTO sessions (user_id, project_id) SELECT $1, id FROM p RETURNING id`, user).Scan(&session); err != nil {
		t.Fatal(err)
	}
	key, stop, ttft := uuid.New(), "end_turn", 123.456
	at := time.Date(2026, 12, 8, 4, 30, 0, 123456789, time.UTC)
	full := db.InsertUsageEventsParams{UserID: user, ApiKeyID: &key, SessionID: &session, Model: "full", Provider: "anthropic",
		InputTokens: 1200, OutputTokens: 300, CacheReadTokens: 7, CacheWriteTokens: 9, Cost: 0.0123456789, Status: "completed",
		StopReason: &stop, TtftMs: &ttft, DurationMs: 850.25, Now: at}
	bare := db.InsertUsageEventsParams{UserID: user, Model: "bare", Provider: "anthropic", Status: "failed", DurationMs: 1, Now: at.Add(999 * time.Nanosecond)}
	w := chat.NewUsageWriter(st, slog.New(slog.DiscardHandler))
	defer w.Close()
	for _, err := range w.Insert(full, bare) {
		if err != nil {
			t.Fatalf("the batch statement: %v", err)
		}
	}
	for _, p := range []db.InsertUsageEventsParams{full, bare} {
		if err := w.Insert(p)[0]; err != nil {
			t.Fatalf("one by one: %v", err)
		}
	}
	rows, err := st.Pool.Query(ctx, `SELECT to_jsonb(u) - 'id' FROM usage_events u WHERE user_id = $1 ORDER BY id`, user)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, row)
	}
	if err := rows.Err(); err != nil || len(stored) != 4 {
		t.Fatalf("%d rows stored (%v), want 4", len(stored), err)
	}
	for i := range 2 {
		if stored[i] != stored[i+2] {
			t.Errorf("stored by the batch statement:\n%s\none by one:\n%s", stored[i], stored[i+2])
		}
	}
	if !strings.Contains(stored[0], `"project_id": "`) || !strings.Contains(stored[1], `"api_key_id": null`) {
		t.Errorf("the session's project or the NULLs are not stored: %s / %s", stored[0], stored[1])
	}

	// An event JSON cannot carry (a NaN cost) does not take its batch with it: the batch is
	// stored one by one, as before.
	odd := bare
	odd.Model, odd.Cost = "nan", math.NaN()
	errs := w.Insert(full, odd)
	want := w.Insert(odd)[0]
	if errs[0] != nil || (errs[1] == nil) != (want == nil) {
		t.Errorf("a batch with a NaN cost: %v; the NaN event alone: %v", errs, want)
	}
}

// A flush returns once every event queued before it is stored, without closing the writer or
// waiting for the linger of a batch it does not belong to; events after it still get stored.
func TestUsageWriterFlushWaitsForEarlierEvents(t *testing.T) {
	ctx := context.Background()
	st, user := usageStore(t, "flush@example.com")
	w := chat.NewUsageWriter(st, slog.New(slog.DiscardHandler))
	count := func() (n int) {
		if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	event := db.InsertUsageEventsParams{UserID: user, Model: "m", Provider: "anthropic", Status: "completed", Now: time.Now()}
	for round, want := range []int{1, 301, 301} { // one event, more than one batch, nothing new
		for range want - count() {
			w.Add(event)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != want {
			t.Fatalf("round %d: %d events stored after the flush, want %d", round, n, want)
		}
	}
	w.Add(event)
	w.Close()
	if n := count(); n != 302 {
		t.Errorf("%d events after close, want 302", n)
	}
}

// Without a database the writer reports the loss to a waiter at once instead of retrying each
// event, and logs it once per batch.
func TestUsageWriterWithoutDatabaseLosesEventsPromptly(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // every query now fails without reaching PostgreSQL
	var logs lockedBuffer
	w := chat.NewUsageWriter(st, slog.New(slog.NewJSONHandler(&logs, nil)))
	event := db.InsertUsageEventsParams{UserID: uuid.New(), Model: "m", Provider: "anthropic", Status: "completed", Now: time.Now()}
	for range 50 {
		w.Add(event)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := w.AddAndWait(ctx, event); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AddAndWait = %v, want the database error at once", err)
	}
	w.Close() // the writer logs a batch's loss after telling its waiters
	if n := strings.Count(logs.String(), "recording usage events failed"); n == 0 || n >= 51 {
		t.Errorf("%d loss log lines for 51 events, want one per batch:\n%s", n, logs.String())
	}
}
