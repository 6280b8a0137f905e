package chat_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkUsageIngest measures usage events per second through the batch writer into the
// partitioned usage_events: 512 concurrent producers (streams ending) each waiting for its event
// to be stored, so the queue never overflows and every event counts.
func BenchmarkUsageIngest(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, testutil.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	users := make([]uuid.UUID, 64)
	for i := range users {
		if err := st.Pool.QueryRow(ctx, `INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id`,
			uuid.NewString()+"@example.com").Scan(&users[i]); err != nil {
			b.Fatal(err)
		}
	}
	w := chat.NewUsageWriter(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close()
	const producers = 512
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := p; i < b.N; i += producers {
				key := uuid.New()
				err := w.AddAndWait(ctx, db.InsertUsageEventsParams{UserID: users[i%len(users)], ApiKeyID: &key, Model: "claude-sonnet-4-5",
					Provider: "anthropic", InputTokens: 1200, OutputTokens: 300, Cost: 0.0081, Status: "completed", DurationMs: 850, Now: time.Now()})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
