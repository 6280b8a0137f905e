package chat

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// Caller identifies who asks (for ownership, rate limits and usage events).
type Caller struct {
	UserID   uuid.UUID
	APIKeyID uuid.UUID
}

// Service is the chat completion service.
type Service struct {
	catalog  *catalog.Catalog
	upstream *llm.Router // provider choice, retries, fallbacks, circuit breakers
	ws       *workspace.Service
	store    *store.Store
	runs     *Runs
	limiter  *ratelimit.Limiter
	tokens   *ratelimit.Policy // nil: no token limit
	now      func() time.Time
	log      *slog.Logger
	pending  sync.WaitGroup // exchanges being recorded after their stream ended
	usage    *usageWriter
}

// Wait blocks until every exchange recorded in the background is stored, and stops the usage
// writer: call it at shutdown, once no request is being served.
func (s *Service) Wait() {
	s.pending.Wait()
	s.usage.close()
}

// New wires the chat service.
func New(c *catalog.Catalog, upstream *llm.Router, ws *workspace.Service, st *store.Store, runs *Runs,
	limiter *ratelimit.Limiter, tokens *ratelimit.Policy, now func() time.Time, log *slog.Logger) *Service {
	return &Service{catalog: c, upstream: upstream, ws: ws, store: st, runs: runs, limiter: limiter, tokens: tokens, now: now, log: log,
		usage: newUsageWriter(st, log)}
}

// prepare validates the request and builds the upstream one.
func (s *Service) prepare(ctx context.Context, caller Caller, req *Request) (catalog.Model, llm.Request, *uuid.UUID, error) {
	model, ok := s.catalog.Model(req.Model)
	if !ok {
		return model, llm.Request{}, nil, apperr.New(apperr.NotFound, "model_not_found", "no such model: "+req.Model).
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/model", Detail: "not in the model catalog"})
	}
	sessionID, err := s.session(ctx, caller, req)
	if err != nil {
		return model, llm.Request{}, nil, err
	}
	lr, err := toLLM(*req)
	if err != nil {
		return model, lr, nil, err
	}
	lr.Model = model.ID // the router maps catalog ids to each target's upstream id
	lr.MaxTokens = int(model.MaxOutputTokens)
	for _, limit := range []*int{req.MaxTokens, req.MaxCompletionTokens} {
		if limit != nil {
			lr.MaxTokens = *limit
		}
	}
	if int64(lr.MaxTokens) > model.MaxOutputTokens {
		return model, lr, nil, invalid("/max_tokens", "more than the model's maximum output")
	}
	if len(lr.Tools) > 0 && !model.Tools {
		return model, lr, nil, invalid("/tools", "this model does not support tools")
	}
	return model, lr, sessionID, nil
}

// session resolves the session the exchange belongs to (checking ownership), creating one when
// only a project is named, and prepends the stored history when asked.
func (s *Service) session(ctx context.Context, caller Caller, req *Request) (*uuid.UUID, error) {
	switch {
	case req.SessionID != nil:
		id, err := uuid.Parse(*req.SessionID)
		if err != nil {
			return nil, invalid("/session_id", "not a UUID")
		}
		if !req.UseSessionHistory {
			_, err = s.ws.Session(ctx, caller.UserID, id)
			return &id, err
		}
		history, err := s.ws.History(ctx, caller.UserID, id)
		if err != nil {
			return nil, err
		}
		req.Messages = append(historyMessages(history), req.Messages...)
		return &id, nil
	case req.ProjectID != nil:
		pid, err := uuid.Parse(*req.ProjectID)
		if err != nil {
			return nil, invalid("/project_id", "not a UUID")
		}
		model := req.Model
		sess, err := s.ws.CreateSession(ctx, caller.UserID, workspace.SessionFields{ProjectID: &pid, Model: &model})
		if err != nil {
			return nil, err
		}
		return &sess.ID, nil
	}
	return nil, nil
}

// historyMessages turns stored messages back into chat messages (tool calls ride in metadata).
func historyMessages(history []workspace.Message) []Message {
	out := make([]Message, 0, len(history))
	for _, m := range history {
		msg := Message{Role: m.Role, Content: m.Content}
		if raw, ok := m.Metadata["tool_calls"]; ok {
			b, _ := json.Marshal(raw)
			_ = json.Unmarshal(b, &msg.ToolCalls)
		}
		if id, ok := m.Metadata["tool_call_id"].(string); ok {
			msg.ToolCallID = id
		}
		out = append(out, msg)
	}
	return out
}

// reserveTokens charges the token budget with what the request can use at most (a prompt
// estimate plus max_tokens), before anything is sent upstream; Finish settles it with the real
// usage. It returns the units reserved (0: no token limit) and the limiter's answer.
func (s *Service) reserveTokens(ctx context.Context, caller Caller, req Request, lr llm.Request) (int, *ratelimit.Result, error) {
	if s.tokens == nil || s.limiter == nil {
		return 0, nil, nil
	}
	raw, _ := json.Marshal(req.Messages)
	n := min(len(raw)/4+lr.MaxTokens, s.tokens.Limit)
	res, err := s.limiter.AllowN(ctx, tokenKey(caller), *s.tokens, n)
	if err != nil {
		s.log.Error("token limiter unavailable; admitting", slog.String("error", err.Error()))
		return 0, nil, nil
	}
	if !res.Allowed {
		return 0, &res, apperr.New(apperr.RateLimited, "token_rate_limited", "the token budget is spent; retry later").WithRetryAfter(res.RetryAfter)
	}
	return n, &res, nil
}

func tokenKey(c Caller) string { return "u:" + c.UserID.String() }

// settleTokens replaces the reservation with the tokens actually used.
func (s *Service) settleTokens(ctx context.Context, caller Caller, reserved int, used int64) {
	if reserved == 0 {
		return
	}
	if err := s.limiter.Settle(ctx, tokenKey(caller), *s.tokens, reserved, int(used)); err != nil {
		s.log.Error("settling the token budget failed; the reservation stands", slog.String("error", err.Error()))
	}
}

// upstreamError turns a provider failure into the client's problem, without upstream text.
func upstreamError(err error) error {
	var le *llm.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return apperr.Wrap(err, apperr.Timeout, "upstream_timeout", "the model provider did not answer in time")
	case errors.As(err, &le) && (le.Overloaded || le.Status == 429 || le.Status == 529 || le.Status == 503):
		return apperr.Wrap(err, apperr.Unavailable, "upstream_overloaded", "the model provider is overloaded; retry shortly").WithRetryAfter(5 * time.Second)
	case errors.As(err, &le) && le.Status == 400:
		return apperr.Wrap(err, apperr.Invalid, "upstream_rejected", "the model provider rejected the request")
	case !errors.As(err, &le):
		return err // not an upstream failure: a bug of ours, answered as an internal error
	}
	return apperr.Wrap(err, apperr.BadGateway, "upstream_error", "the model provider failed")
}

// StreamError is the problem for an upstream failure after streaming began.
func StreamError(err error) error { return upstreamError(err) }
