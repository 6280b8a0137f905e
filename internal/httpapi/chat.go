package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/resume"
)

// ChatHandlers serve the `chat` tag.
type ChatHandlers struct {
	chat      *chat.Service
	keepAlive time.Duration
	resume    *resume.Store // nil: streams are not recorded (chat_resume.go)
	log       *slog.Logger
}

// NewChatHandlers returns the chat handlers; streams send a keep-alive comment every keepAlive.
func NewChatHandlers(c *chat.Service, keepAlive time.Duration) *ChatHandlers {
	return &ChatHandlers{chat: c, keepAlive: keepAlive}
}

func caller(ctx context.Context) (chat.Caller, error) {
	p, err := principal(ctx)
	if err != nil {
		return chat.Caller{}, err
	}
	return chat.Caller{UserID: p.UserID, APIKeyID: p.APIKeyID}, nil
}

// CreateChatCompletion answers an OpenAI chat completion, streamed or not.
func (h *ChatHandlers) CreateChatCompletion(ctx context.Context, req api.CreateChatCompletionRequestObject) (api.CreateChatCompletionResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	// The spec maps ChatCompletionRequest to chat.Request (x-go-type): the body is the chat
	// package's own type, no conversion.
	r := *req.Body
	genCtx := generationContext(ctx, req)
	g, err := h.chat.CreateChatCompletion(genCtx, who, r)
	if err != nil {
		return nil, err
	}
	noteUpstreamRequestID(ctx, g.UpstreamRequestID())
	if hdr := responseHeader(ctx); hdr != nil && g.TokenLimit != nil {
		setRateLimitHeaders(hdr, *g.TokenLimit)
	}
	if r.Stream {
		return h.newChatStream(ctx, genCtx, who, g, r.StreamOptions != nil && r.StreamOptions.IncludeUsage), nil
	}
	c, err := g.Collect(ctx)
	if err != nil {
		return nil, err
	}
	return api.CreateChatCompletion200JSONResponse{Body: c}, nil
}

// DebugChatCompletion shows the upstream request without sending it.
func (h *ChatHandlers) DebugChatCompletion(ctx context.Context, req api.DebugChatCompletionRequestObject) (api.DebugChatCompletionResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	d, err := h.chat.DebugChatCompletion(ctx, who, *req.Body)
	if err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(d.Request, &body); err != nil {
		return nil, err
	}
	return api.DebugChatCompletion200JSONResponse{Provider: d.Provider, Model: d.Model, UpstreamModel: d.UpstreamModel, Request: body}, nil
}

// GetChatStatus reports whether a session is generating.
func (h *ChatHandlers) GetChatStatus(ctx context.Context, req api.GetChatStatusRequestObject) (api.GetChatStatusResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	st, err := h.chat.GetChatStatus(ctx, who, req.SessionId)
	if err != nil {
		return nil, err
	}
	return api.GetChatStatus200JSONResponse{SessionId: st.SessionID, IsRunning: st.IsRunning, Model: st.Model,
		MessageCount: st.MessageCount, TotalTokens: st.TotalTokens, TotalCost: st.TotalCost, UpdatedAt: apitime.New(st.UpdatedAt)}, nil
}

// CancelChatCompletion stops a session's running generation.
func (h *ChatHandlers) CancelChatCompletion(ctx context.Context, req api.CancelChatCompletionRequestObject) (api.CancelChatCompletionResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	cancelled, err := h.chat.CancelChatCompletion(ctx, who, req.SessionId)
	if err != nil {
		return nil, err
	}
	return api.CancelChatCompletion200JSONResponse{SessionId: req.SessionId, Cancelled: cancelled}, nil
}
