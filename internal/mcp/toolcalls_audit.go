package mcp

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// AuditToolCall is the audit action of every tool execution, from a chat turn or the tool runner
// (a value of the contract's AuditAction enum).
const AuditToolCall audit.Action = "mcp.tool_call"

// ToolCallAudit is what the audit log keeps of one execution: never its arguments or result,
// which may carry the user's secrets.
type ToolCallAudit struct {
	UserID, ServerID uuid.UUID
	ServerName, Tool string
	Status           string // completed | failed | timeout | cancelled
	IsError          bool
	Duration         time.Duration
	CallID           *uuid.UUID // the tool-calls list entry, when there is one
	SessionID        *uuid.UUID
}

// AuditToolCall records one execution in the audit log. It is written even when the caller has
// gone away, since the call itself may have run.
func (r *Registry) AuditToolCall(ctx context.Context, a ToolCallAudit) error {
	outcome := audit.Success
	if a.Status != StatusCompleted || a.IsError {
		outcome = audit.Failure
	}
	details := map[string]any{"server_id": a.ServerID.String(), "server_name": a.ServerName, "tool": a.Tool,
		"status": a.Status, "is_error": a.IsError, "duration_ms": a.Duration.Milliseconds()}
	if a.CallID != nil {
		details["tool_call_id"] = a.CallID.String()
	}
	if a.SessionID != nil {
		details["session_id"] = a.SessionID.String()
	}
	return r.store.InTx(context.WithoutCancel(ctx), func(q *db.Queries) error {
		return audit.Record(ctx, q, r.now(), audit.Event{Action: AuditToolCall, Outcome: outcome, ActorID: a.UserID, SubjectID: a.UserID, Details: details})
	})
}

// CallStatus is the tool-calls status of a call that ended with err: cancelled and timed-out
// calls are told apart from the ones that failed.
func CallStatus(err error) string {
	var ae *apperr.Error
	switch {
	case err == nil:
		return StatusCompleted
	case errors.Is(err, context.Canceled):
		return StatusCancelled
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ae) && ae.Kind == apperr.Timeout):
		return StatusTimeout
	default:
		return StatusFailed
	}
}
