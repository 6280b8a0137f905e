package chat

import (
	"context"
	"log/slog"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/store"
)

// UsageWriter exposes the usage writer to the external tests, which need testutil (and so a
// package that imports this one).
type UsageWriter = usageWriter

func NewUsageWriter(st *store.Store, log *slog.Logger) *UsageWriter { return newUsageWriter(st, log) }

func (w *usageWriter) Add(p db.InsertUsageEventsParams) { w.add(p) }

func (w *usageWriter) AddAndWait(ctx context.Context, p db.InsertUsageEventsParams) error {
	return w.addAndWait(ctx, p)
}

func (w *usageWriter) Flush(ctx context.Context) error { return w.flush(ctx) }

func (w *usageWriter) Close() { w.close() }

// Insert stores events as one batch does: one statement for several, one by one for one.
func (w *usageWriter) Insert(ps ...db.InsertUsageEventsParams) []error {
	records := make([]usageRecord, len(ps))
	for i, p := range ps {
		records[i] = usageRecord{params: p}
	}
	return w.insert(records)
}
