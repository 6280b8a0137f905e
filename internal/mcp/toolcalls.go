package mcp

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Tool call statuses, as spelled in the spec.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusTimeout   = "timeout"
	StatusCancelled = "cancelled"
)

// ToolCallRecord is one tool execution in a session's tool-calls list.
type ToolCallRecord struct {
	ID, UserID, SessionID, ServerID uuid.UUID
	Tool                            string
	Arguments                       json.RawMessage // a JSON object; nil stores {}
	Result                          json.RawMessage // a JSON object (content blocks + structured content) or nil
	IsError                         bool
	Status                          string // completed | failed | timeout | cancelled
	Duration                        time.Duration
	CreatedAt                       time.Time // zero: now
}

// RecordToolCall appends c to its session's list (ID zero: a new one). A session that is not the
// user's is NotFound.
func (r *Registry) RecordToolCall(ctx context.Context, c ToolCallRecord) error {
	switch c.Status {
	case StatusCompleted, StatusFailed, StatusTimeout, StatusCancelled:
	default:
		return apperr.New(apperr.Invalid, "invalid_value", "unknown tool call status "+c.Status)
	}
	if c.ID == uuid.Nil {
		c.ID = uuid.New()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = r.now()
	}
	args := []byte(c.Arguments)
	if len(args) == 0 {
		args = []byte("{}")
	}
	n, err := r.store.Queries().InsertToolCall(ctx, db.InsertToolCallParams{ID: c.ID, UserID: c.UserID, SessionID: c.SessionID,
		ServerID: c.ServerID, Tool: c.Tool, Arguments: args, Result: nilIfEmpty(c.Result), IsError: c.IsError, Status: c.Status,
		DurationMs: c.Duration.Milliseconds(), CreatedAt: c.CreatedAt})
	if err != nil {
		return store.MapError(err)
	}
	if n == 0 {
		return errSessionNotFound
	}
	return nil
}

// ListSessionToolCalls pages through a session's tool calls, newest first.
func (r *Registry) ListSessionToolCalls(ctx context.Context, user, sessionID uuid.UUID, req page.Request) (page.Page[ToolCallRecord], error) {
	if err := checkSession(ctx, r.store.Queries(), user, sessionID); err != nil {
		return page.Page[ToolCallRecord]{}, err
	}
	return page.Fetch(ctx, r.cursors, page.List[db.ToolCall, page.TimeID]{
		Name: "tool_calls", Owner: user, Filter: sessionID,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.ToolCall, error) {
			at, id := after.Split()
			return r.store.Queries().ListToolCalls(ctx, db.ListToolCallsParams{SessionID: sessionID, UserID: user, BeforeCreated: at, BeforeID: id, MaxRows: limit})
		},
		Position: func(t db.ToolCall) page.TimeID { return page.At(t.CreatedAt, t.ID) },
		Size:     func(t db.ToolCall) int { return page.ItemOverhead + len(t.Arguments) + len(t.Result) + len(t.Tool) },
	}, req, func(t db.ToolCall) ToolCallRecord {
		return ToolCallRecord{ID: t.ID, UserID: t.UserID, SessionID: t.SessionID, ServerID: t.ServerID, Tool: t.Tool,
			Arguments: t.Arguments, Result: t.Result, IsError: t.IsError, Status: t.Status,
			Duration: time.Duration(t.DurationMs) * time.Millisecond, CreatedAt: t.CreatedAt}
	})
}

func nilIfEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
