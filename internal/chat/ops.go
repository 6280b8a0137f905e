package chat

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Status is what the iOS app polls: whether the session is generating, and its totals.
type Status struct {
	SessionID    uuid.UUID
	IsRunning    bool
	Model        *string
	MessageCount int64
	TotalTokens  int64
	TotalCost    float64
	UpdatedAt    time.Time
}

// GetChatStatus (operation getChatStatus) reports one of the caller's sessions.
func (s *Service) GetChatStatus(ctx context.Context, caller Caller, sessionID uuid.UUID) (Status, error) {
	sess, err := s.ws.GetSession(ctx, caller.UserID, sessionID)
	if err != nil {
		return Status{}, err
	}
	running, err := s.runs.Running(ctx, sessionID)
	if err != nil {
		return Status{}, err
	}
	return Status{SessionID: sess.ID, IsRunning: running, Model: sess.Model, MessageCount: sess.MessageCount,
		TotalTokens: sess.InputTokens + sess.OutputTokens, TotalCost: sess.TotalCost, UpdatedAt: sess.UpdatedAt}, nil
}

// CancelChatCompletion (operation cancelChatCompletion) stops the session's running generation
// wherever it runs.
func (s *Service) CancelChatCompletion(ctx context.Context, caller Caller, sessionID uuid.UUID) (bool, error) {
	if _, err := s.ws.GetSession(ctx, caller.UserID, sessionID); err != nil {
		return false, err
	}
	return s.runs.Cancel(ctx, sessionID)
}

// Debug is what DebugChatCompletion shows: the upstream request a completion would send.
type Debug struct {
	Provider      string
	Model         string
	UpstreamModel string
	Request       json.RawMessage
}

// DebugChatCompletion (operation debugChatCompletion) validates req and returns the exact
// upstream request, without sending it (and without creating a session for project_id).
func (s *Service) DebugChatCompletion(ctx context.Context, caller Caller, req Request) (Debug, error) {
	req.ProjectID = nil
	p, err := s.prepare(ctx, caller, &req)
	if err != nil {
		return Debug{}, err
	}
	model, lr := p.model, p.lr
	targets, err := s.upstream.Targets(lr.Model)
	if err != nil {
		return Debug{}, err
	}
	body, err := s.upstream.Describe(lr)
	if err != nil {
		return Debug{}, err
	}
	upstreamModel := targets[0].UpstreamModel
	if upstreamModel == "" {
		upstreamModel = model.ID
	}
	return Debug{Provider: targets[0].Provider.Name(), Model: model.ID, UpstreamModel: upstreamModel, Request: body}, nil
}
