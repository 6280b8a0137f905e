package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/resume"
)

// Resumable chat streams: every streamed generation's events are numbered (SSE `id:`) and
// recorded (internal/resume), so GetChatStream replays them on any instance. Hooks into the
// stream (chat_stream.go): chatStream.announce (X-Generation-ID), chatStream.first (the first
// chunk's generation_id) and sseWriter.raw/last, which pass each event through
// Recording.Numbered before writing it.

// WithResume turns recording and resuming on (without it streams carry no ids and
// GetChatStream answers 404).
func (h *ChatHandlers) WithResume(s *resume.Store, log *slog.Logger) *ChatHandlers {
	h.resume, h.log = s, log
	return h
}

// resumable tells whether the client asked that its stream's generation outlive its connection.
func resumable(req api.CreateChatCompletionRequestObject) bool {
	if !req.Body.Stream {
		return false
	}
	return req.Body.Resumable || (req.Params.XCCBResumable != nil && *req.Params.XCCBResumable)
}

// generationContext is the context a generation runs in: the request's, so that a disconnect
// cancels it, or for a resumable stream one detached from the request's end (keeping its
// values). A cancel request still ends it either way: the session's run context derives from it.
func generationContext(ctx context.Context, req api.CreateChatCompletionRequestObject) context.Context {
	if resumable(req) {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// newChatStream starts the stream's recording. A recording that cannot start (Redis down)
// leaves the stream as it was before resumption existed: no ids, no replay.
func (h *ChatHandlers) newChatStream(ctx, genCtx context.Context, who chat.Caller, g *chat.Generation, includeUsage bool) *chatStream {
	s := &chatStream{ctx: ctx, genCtx: genCtx, gen: g, includeUsage: includeUsage, keepAlive: h.keepAlive}
	if h.resume == nil {
		return s
	}
	rec, err := h.resume.Begin(ctx, g.GenerationID(), who.UserID)
	if err != nil {
		h.log.Warn("a chat stream is not recorded: it cannot be resumed", slog.String("error", err.Error()))
		return s
	}
	s.rec = rec
	return s
}

// announce names the generation in the response header of a recorded stream.
func (s *chatStream) announce(h http.Header) {
	if s.rec != nil {
		h.Set("X-Generation-ID", s.gen.GenerationID().String())
	}
}

// first is the stream's first chunk, naming the generation when it is recorded.
func (s *chatStream) first(c chat.Chunk) chat.Chunk {
	if s.rec != nil {
		c.GenerationID = s.gen.GenerationID().String()
	}
	return c
}

// GetChatStream resumes a recorded stream after the client's last event.
func (h *ChatHandlers) GetChatStream(ctx context.Context, req api.GetChatStreamRequestObject) (api.GetChatStreamResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	after, err := resumePoint(req.Params)
	if err != nil {
		return nil, err
	}
	notFound := apperr.New(apperr.NotFound, "generation_not_found", "no such generation (or it is no longer kept)")
	if h.resume == nil {
		return nil, notFound
	}
	switch err := h.resume.Owner(ctx, req.GenerationId, who.UserID); {
	case errors.Is(err, resume.ErrNotFound):
		return nil, notFound
	case err != nil:
		return nil, apperr.Wrap(err, apperr.Unavailable, "unavailable", "the stream cannot be resumed right now")
	}
	switch err := h.resume.Check(ctx, req.GenerationId, after); {
	case errors.Is(err, resume.ErrTrimmed):
		return nil, apperr.New(apperr.Gone, "resume_point_expired", "the events after this id are no longer kept")
	case err != nil:
		return nil, apperr.Wrap(err, apperr.Unavailable, "unavailable", "the stream cannot be resumed right now")
	}
	return &chatReplay{ctx: ctx, store: h.resume, id: req.GenerationId, after: after, keepAlive: h.keepAlive, log: h.log}, nil
}

// resumePoint is the last event the client has: Last-Event-ID, else after, else none (0).
func resumePoint(p api.GetChatStreamParams) (int64, error) {
	if p.LastEventID != nil {
		n, err := strconv.ParseInt(*p.LastEventID, 10, 64)
		if err != nil || n < 0 {
			return 0, apperr.New(apperr.Invalid, "validation_failed", "Last-Event-ID is not an event id").
				WithFields(apperr.FieldError{Location: apperr.InHeader, Pointer: "Last-Event-ID", Detail: "not a non-negative integer"})
		}
		return n, nil
	}
	if p.After != nil {
		return *p.After, nil
	}
	return 0, nil
}

// chatReplay is GetChatStream's text/event-stream: the recorded events, exactly as first sent.
type chatReplay struct {
	ctx       context.Context
	store     *resume.Store
	id        uuid.UUID
	after     int64
	keepAlive time.Duration
	log       *slog.Logger
}

// VisitGetChatStreamResponse streams the replay. Problems found before the first byte were
// answered by GetChatStream; later ones can only end the stream, with an error event when the
// generation was lost (no [DONE] follows: the answer is incomplete).
func (r *chatReplay) VisitGetChatStreamResponse(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Generation-ID", r.id.String())
	w.WriteHeader(http.StatusOK)
	sse := newSSEWriter(r.ctx, w, r.keepAlive)
	defer sse.stop()
	err := r.store.Replay(r.ctx, r.id, r.after, func(events []string) error {
		sse.mu.Lock()
		defer sse.mu.Unlock()
		sse.write(strings.Join(events, ""))
		return r.ctx.Err()
	})
	switch {
	case err == nil, r.ctx.Err() != nil:
	case errors.Is(err, resume.ErrLost), errors.Is(err, resume.ErrTrimmed):
		code := "generation_lost"
		if errors.Is(err, resume.ErrTrimmed) {
			code = "resume_point_expired"
		}
		sse.data(map[string]any{"error": map[string]any{"message": err.Error(), "type": "server_error", "code": code}})
	default:
		r.log.Warn("a chat stream replay ended early", slog.String("generation_id", r.id.String()), slog.String("error", err.Error()))
		sse.data(map[string]any{"error": map[string]any{"message": "the stream cannot be resumed right now", "type": "server_error", "code": "unavailable"}})
	}
	return nil
}
