// Package events carries what happens to a user's data to that user's live connections (WebSocket
// and SSE, on any instance) and to whatever must react to it on the instance that raised it (push
// notifications).
package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Type names an event; clients switch on it. The set is declared in api/openapi.yaml (tag realtime).
type Type string

// The event types raised today.
const (
	ProjectCreated      Type = "project.created"
	ProjectUpdated      Type = "project.updated"
	ProjectDeleted      Type = "project.deleted"
	SessionCreated      Type = "session.created"
	SessionUpdated      Type = "session.updated"
	SessionDeleted      Type = "session.deleted"
	MessageCreated      Type = "message.created"
	GenerationStarted   Type = "generation.started"
	GenerationDelta     Type = "generation.delta"
	GenerationCompleted Type = "generation.completed"
	GenerationCancelled Type = "generation.cancelled"
	GenerationFailed    Type = "generation.failed"
	ToolCallStarted     Type = "tool.call_started"
	ToolCallCompleted   Type = "tool.call_completed"
	FileCreated         Type = "file.created"
	FileDeleted         Type = "file.deleted"
	// Resync tells a resuming client that what it missed is no longer retained: call /v1/sync.
	Resync Type = "resync"
)

// Event is one entry of a user's feed. ID increases monotonically per user, so a client resumes
// from the last one it saw.
type Event struct {
	ID         string          `json:"id"`
	Type       Type            `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// Publisher raises events for a user. Publishing never blocks the caller on a slow consumer, and a
// failure to publish never fails the write it reports (the caller logs it): the record is
// PostgreSQL, the feed is a notification of it.
type Publisher interface {
	Publish(ctx context.Context, userID uuid.UUID, typ Type, data any) error
	// PublishAll raises drafts in their order, with one round trip for all of them.
	PublishAll(ctx context.Context, userID uuid.UUID, drafts []Draft) error
}

// Observer is told, on the instance that published it, of every event raised there (not of events
// arriving from other instances, so that one event causes one reaction cluster-wide).
type Observer interface {
	Observe(ctx context.Context, userID uuid.UUID, e Event)
}

// Presence reports whether a user has a live event connection on any instance.
type Presence interface {
	Online(ctx context.Context, userID uuid.UUID) (bool, error)
}
