package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/events"
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
	files    FileSource // nil: no file attachments
	limits   Limits
	now      func() time.Time
	log      *slog.Logger
	pending  sync.WaitGroup // exchanges being recorded after their stream ended
	feeding  sync.WaitGroup // generations' feed events being published (feed.go)
	usage    *usageWriter
	settler  *settler         // applies ended generations' settlements off the response path
	observer Observer         // metrics; see WithObserver
	events   events.Publisher // generation.* and tool.* events; see WithEvents
	streams  atomic.Int64     // streamed generations running on this instance
	loop     ToolLoop
}

// Wait blocks until every exchange recorded in the background is stored, every feed event
// raised is published and every generation's settlement is applied, and stops the usage writer:
// call it at shutdown, once no request is being served.
func (s *Service) Wait() {
	s.pending.Wait()
	s.feeding.Wait()
	s.settler.close()
	s.limits.Generations.Close() // spare slots go back, after the last release
	s.usage.close()
}

// FlushLimits waits until every ended generation's token settlement and slot release queued
// before the call is applied in Redis. Replies do not wait for them; whoever must read the budget
// or the slots right after a reply — a test, say — calls this.
func (s *Service) FlushLimits(ctx context.Context) error { return s.settler.flush(ctx) }

// FlushUsage waits until the usage event of every exchange recorded before the call is written.
// Replies and streams do not wait for their usage event (the writer batches them a few
// milliseconds later); whoever must read it right after a reply — a test, say — calls this.
func (s *Service) FlushUsage(ctx context.Context) error { return s.usage.flush(ctx) }

// Limits bound what one user can spend and hold.
type Limits struct {
	Limiter *ratelimit.Limiter
	Tokens  *ratelimit.Policy // nil: no token limit
	// TokensFailOpen admits requests uncharged while Redis cannot decide (CCB_TOKEN_LIMIT_FAIL_OPEN);
	// otherwise they are refused with 503. An argument error is never admitted.
	TokensFailOpen bool
	// Generations counts running generations per user across instances; it must use the Limiter's
	// Redis, as the reserve and the slot share one round trip.
	Generations    *ratelimit.Semaphore
	MaxGenerations int // CCB_MAX_CONCURRENT_GENERATIONS; 0: no cap
	// MaxMessageBytes is the largest message content a session stores (CCB_MAX_MESSAGE_BYTES):
	// an exchange to be stored is refused up front when its user turn is larger.
	MaxMessageBytes int64
}

// New wires the chat service; files (nil: none) resolves the stored files messages attach, and
// loop says which backend tools chat turns may run (a zero ToolLoop: none).
func New(c *catalog.Catalog, upstream *llm.Router, ws *workspace.Service, st *store.Store, runs *Runs, files FileSource,
	limits Limits, loop ToolLoop, now func() time.Time, log *slog.Logger) *Service {
	return &Service{catalog: c, upstream: upstream, ws: ws, store: st, runs: runs, files: files, limits: limits, loop: loop, now: now, log: log,
		usage: newUsageWriter(st, log), settler: newSettler(limits, log), observer: nopObserver{}}
}

// prepared is a validated request: its model, the upstream request, its session and the
// backend tools offered (nil: none).
type prepared struct {
	model     catalog.Model
	lr        llm.Request
	sessionID *uuid.UUID
	tools     *toolTable
}

// prepare validates the request and builds the upstream one.
func (s *Service) prepare(ctx context.Context, caller Caller, req *Request) (prepared, error) {
	model, lr, sessionID, err := s.prepareUpstream(ctx, caller, req)
	if err != nil {
		return prepared{}, err
	}
	p := prepared{model: model, lr: lr, sessionID: sessionID}
	p.tools, err = s.offerTools(ctx, caller, *req, &p)
	return p, err
}

// prepareUpstream validates the request and builds the upstream one, without backend tools.
func (s *Service) prepareUpstream(ctx context.Context, caller Caller, req *Request) (catalog.Model, llm.Request, *uuid.UUID, error) {
	model, ok := s.catalog.GetModel(req.Model)
	if !ok {
		return model, llm.Request{}, nil, apperr.New(apperr.NotFound, "model_not_found", "no such model: "+req.Model).
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/model", Detail: "not in the model catalog"})
	}
	// Checked before session() creates a session for project_id: a refused request writes nothing.
	if err := s.storable(*req); err != nil {
		return model, llm.Request{}, nil, err
	}
	sessionID, err := s.session(ctx, caller, req)
	if err != nil {
		return model, llm.Request{}, nil, err
	}
	lr, err := toLLM(*req, s.attacher(ctx, caller, *req))
	if err != nil {
		return model, lr, nil, err
	}
	lr.Model = model.ID // the router maps catalog ids to each target's upstream id
	if lr.MaxTokens, err = outputLimit(model, req.MaxTokens, req.MaxCompletionTokens); err != nil {
		return model, lr, nil, err
	}
	if len(lr.Tools) > 0 && !model.Tools {
		return model, lr, nil, invalid("/tools", "this model does not support tools")
	}
	return model, lr, sessionID, nil
}

// outputLimit is the output a request asks of model: max_completion_tokens, else max_tokens,
// else the model's maximum. Both bounds are checked here as well as by the spec: the token budget
// reserves the limit, so a value below 1 reaching it must never be possible, whatever the edge let
// through.
func outputLimit(model catalog.Model, maxTokens, maxCompletionTokens *int) (int, error) {
	limit := int(model.MaxOutputTokens)
	for _, f := range []struct {
		pointer string
		limit   *int
	}{{"/max_tokens", maxTokens}, {"/max_completion_tokens", maxCompletionTokens}} {
		switch {
		case f.limit == nil:
		case *f.limit < 1:
			return 0, invalid(f.pointer, "must be at least 1")
		case int64(*f.limit) > model.MaxOutputTokens:
			return 0, invalid(f.pointer, "more than the model's maximum output")
		default:
			limit = *f.limit
		}
	}
	return limit, nil
}

// attacher reads the caller's files for req, within what the upstream takes beside the
// messages' own JSON.
func (s *Service) attacher(ctx context.Context, caller Caller, req Request) *attacher {
	return &attacher{ctx: ctx, src: s.files, user: caller.UserID, budget: MaxRequestBytes - int64(messagesBytes(req.Messages))}
}

// storable refuses up front an exchange that asks to be stored (session_id, project_id) but
// whose user turn a session could never hold: larger than MaxMessageBytes, or with NUL
// characters (PostgreSQL text cannot hold them). Answering 200 and then losing the turn would
// hide the loss from the client.
func (s *Service) storable(req Request) error {
	if req.SessionID == nil && req.ProjectID == nil {
		return nil
	}
	i := len(req.Messages) - 1
	if i < 0 || !storedTurn(req.Messages[i]) {
		return nil
	}
	content, at := req.Messages[i].Content, fmt.Sprintf("/messages/%d/content", i)
	if s.limits.MaxMessageBytes > 0 && int64(len(content)) > s.limits.MaxMessageBytes {
		return invalid(at, fmt.Sprintf("larger than a session stores (%d bytes of JSON)", s.limits.MaxMessageBytes))
	}
	if strings.Contains(string(content), `\u0000`) || strings.ContainsRune(string(content), 0) {
		return invalid(at, "a stored message must not contain NUL characters")
	}
	return nil
}

// storedTurn reports whether persist stores m, the request's last message.
func storedTurn(m Message) bool { return m.Role == "user" || m.Role == "tool" }

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
			_, err = s.ws.GetSession(ctx, caller.UserID, id)
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
