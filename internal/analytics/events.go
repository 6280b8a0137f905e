package analytics

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/page"
)

// Event is one recorded request (usage_events row).
type Event struct {
	ID                                                           int64
	CreatedAt                                                    time.Time
	Model, Provider, Status                                      string
	APIKeyID, SessionID, ProjectID                               *uuid.UUID
	InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens int64
	Cost                                                         float64
	StopReason                                                   *string
	TTFTMs                                                       *float64
	DurationMs                                                   float64
}

// eventPosition is the keyset position of the events list (newest first).
type eventPosition struct {
	At time.Time `json:"t"`
	ID int64     `json:"i"`
}

// ListUsageEvents pages through the caller's own events, newest first.
func (s *Service) ListUsageEvents(ctx context.Context, userID uuid.UUID, req page.Request) (page.Page[Event], error) {
	return page.Fetch(ctx, s.cursors, page.List[db.UsageEvent, eventPosition]{
		Name: "usage_events", Owner: userID,
		Fetch: func(ctx context.Context, after *eventPosition, limit int32) ([]db.UsageEvent, error) {
			p := db.ListUserUsageEventsParams{UserID: userID, MaxRows: limit}
			if after != nil {
				p.BeforeCreated, p.BeforeID = &after.At, &after.ID
			}
			return s.store.Reader(ctx, userID).ListUserUsageEvents(ctx, p)
		},
		Position: func(r db.UsageEvent) eventPosition { return eventPosition{At: r.CreatedAt, ID: r.ID} },
	}, req, func(r db.UsageEvent) Event {
		return Event{ID: r.ID, CreatedAt: r.CreatedAt, Model: r.Model, Provider: r.Provider, Status: r.Status, APIKeyID: r.ApiKeyID,
			SessionID: r.SessionID, ProjectID: r.ProjectID, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
			CacheReadTokens: r.CacheReadTokens, CacheWriteTokens: r.CacheWriteTokens, Cost: r.Cost, StopReason: r.StopReason,
			TTFTMs: r.TtftMs, DurationMs: r.DurationMs}
	})
}
