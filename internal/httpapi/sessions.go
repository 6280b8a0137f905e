package httpapi

import (
	"context"
	"encoding/json"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// ListSessions pages through the caller's sessions.
func (h *WorkspaceHandlers) ListSessions(ctx context.Context, req api.ListSessionsRequestObject) (api.ListSessionsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	f := workspace.SessionFilter{ProjectID: req.Params.ProjectId, Query: req.Params.Q}
	if req.Params.Status != nil {
		st := string(*req.Params.Status)
		f.Status = &st
	}
	body, err := listOf(infallible(sessionBody))(h.ws.ListSessions(ctx, p.UserID, f, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.ListSessions200JSONResponse(body), err
}

// CreateSession starts a session.
func (h *WorkspaceHandlers) CreateSession(ctx context.Context, req api.CreateSessionRequestObject) (api.CreateSessionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	s, err := h.ws.CreateSession(ctx, p.UserID, workspace.SessionFields{ProjectID: b.ProjectId, Title: b.Title, Model: b.Model, SystemPrompt: b.SystemPrompt})
	if err != nil {
		return nil, err
	}
	return api.CreateSession201JSONResponse{Body: sessionBody(s), Headers: api.CreateSession201ResponseHeaders{ETag: etag(s.Version)}}, nil
}

// GetSession returns a session.
func (h *WorkspaceHandlers) GetSession(ctx context.Context, req api.GetSessionRequestObject) (api.GetSessionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.ws.GetSession(ctx, p.UserID, req.Id)
	if err != nil {
		return nil, err
	}
	return api.GetSession200JSONResponse{Body: sessionBody(s), Headers: api.GetSession200ResponseHeaders{ETag: etag(s.Version)}}, nil
}

// UpdateSession renames, archives or moves a session.
func (h *WorkspaceHandlers) UpdateSession(ctx context.Context, req api.UpdateSessionRequestObject) (api.UpdateSessionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	var patch workspace.SessionPatch
	patch.ProjectID, patch.SetProjectID = sent(b.ProjectId)
	patch.Title, patch.SetTitle = sent(b.Title)
	patch.Model, patch.SetModel = sent(b.Model)
	patch.SystemPrompt, patch.SetSystemPrompt = sent(b.SystemPrompt)
	if b.Status != nil {
		st := string(*b.Status)
		patch.Status = &st
	}
	s, err := h.ws.UpdateSession(ctx, p.UserID, req.Id, patch, parseIfMatch(req.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateSession200JSONResponse{Body: sessionBody(s), Headers: api.UpdateSession200ResponseHeaders{ETag: etag(s.Version)}}, nil
}

// DeleteSession deletes a session and its messages.
func (h *WorkspaceHandlers) DeleteSession(ctx context.Context, req api.DeleteSessionRequestObject) (api.DeleteSessionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.ws.DeleteSession(ctx, p.UserID, req.Id, parseIfMatch(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteSession204Response{}, nil
}

// GetSessionStats returns a session's usage.
func (h *WorkspaceHandlers) GetSessionStats(ctx context.Context, req api.GetSessionStatsRequestObject) (api.GetSessionStatsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.ws.GetSession(ctx, p.UserID, req.Id)
	if err != nil {
		return nil, err
	}
	return api.GetSessionStats200JSONResponse{SessionId: s.ID, MessageCount: s.MessageCount, InputTokens: s.InputTokens,
		OutputTokens: s.OutputTokens, TotalCost: s.TotalCost, FirstActivityAt: optionalTime(s.FirstActivityAt),
		LastActivityAt: optionalTime(s.LastActivityAt)}, nil
}

// GetSessionTotals sums the caller's sessions.
func (h *WorkspaceHandlers) GetSessionTotals(ctx context.Context, _ api.GetSessionTotalsRequestObject) (api.GetSessionTotalsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.ws.GetSessionTotals(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return api.GetSessionTotals200JSONResponse{ActiveSessions: t.ActiveSessions, TotalSessions: t.TotalSessions,
		TotalMessages: t.TotalMessages, TotalTokens: t.TotalTokens, TotalCost: t.TotalCost}, nil
}

// ListMessages pages through a session's messages.
func (h *WorkspaceHandlers) ListMessages(ctx context.Context, req api.ListMessagesRequestObject) (api.ListMessagesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	q := workspace.MessageQuery{Descending: req.Params.Order != nil && *req.Params.Order == api.ListMessagesParamsOrderDesc, Before: req.Params.Before, After: req.Params.After}
	if req.Params.Role != nil {
		r := string(*req.Params.Role)
		q.Role = &r
	}
	body, err := listOf(messageBody)(h.ws.ListMessages(ctx, p.UserID, req.Id, q, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.ListMessages200JSONResponse(body), err
}

// CreateMessage appends a message.
func (h *WorkspaceHandlers) CreateMessage(ctx context.Context, req api.CreateMessageRequestObject) (api.CreateMessageResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	content, err := req.Body.Content.MarshalJSON()
	if err != nil {
		return nil, err
	}
	m, err := h.ws.CreateMessage(ctx, p.UserID, req.Id, workspace.NewMessage{Role: string(req.Body.Role), Content: json.RawMessage(content),
		Metadata: mapOrNil(req.Body.Metadata)})
	if err != nil {
		return nil, err
	}
	body, err := messageBody(m)
	if err != nil {
		return nil, err
	}
	return api.CreateMessage201JSONResponse(body), nil
}
