package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/events"
)

// StreamEvents (streamEvents) is the feed as server-sent events.
func (h *RealtimeHandlers) StreamEvents(ctx context.Context, req api.StreamEventsRequestObject) (api.StreamEventsResponseObject, error) {
	last := ""
	switch {
	case req.Params.LastEventId != nil:
		last = *req.Params.LastEventId
	case req.Params.LastEventID != nil:
		last = *req.Params.LastEventID
	}
	f, err := h.open(ctx, req.Params.Types, req.Params.SessionId, last)
	if err != nil {
		return nil, err
	}
	return &eventStream{feed: f, ctx: ctx}, nil
}

type eventStream struct {
	feed *feed
	ctx  context.Context
}

func (e *eventStream) VisitStreamEventsResponse(w http.ResponseWriter) error {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Heartbeats come from the feed's own ticker, not the writer's timer; each write is bounded
	// like the WebSocket's, so a client that stops reading is a slow consumer within seconds.
	sse := newSSEWriter(e.ctx, w, 24*time.Hour).bounded(e.feed.h.writeTimeout())
	defer sse.stop()
	sse.raw(": connected\n\n")
	e.feed.run(e.ctx, &sseSink{w: sse})
	return nil
}

type sseSink struct{ w *sseWriter }

func (s *sseSink) send(ctx context.Context, fr events.Frame) error {
	s.w.raw("id: " + fr.ID + "\nevent: " + string(fr.Type) + "\ndata: " + string(fr.JSON) + "\n\n")
	return s.result(ctx)
}

func (s *sseSink) heartbeat(ctx context.Context) error {
	s.w.raw(": heartbeat\n\n")
	return s.result(ctx)
}

// result reports a write that ran out of its deadline as errSlowWrite (a failed write also
// cancels the request, so it is checked before the context).
func (s *sseSink) result(ctx context.Context) error {
	if err := s.w.failed(); errors.Is(err, os.ErrDeadlineExceeded) {
		return errSlowWrite
	} else if err != nil {
		return err
	}
	return ctx.Err()
}

func (s *sseSink) end(code int, reason string) {
	b, _ := json.Marshal(map[string]any{"code": code, "reason": reason})
	s.w.last("event: close\ndata: " + string(b) + "\n\n")
}
