package chat

import (
	"context"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/llm"
)

// WithEvents makes the service raise generation.* and tool.* events on the caller's feed, and
// returns the service. The hooks sit at the generation's lifecycle points: started (in
// CreateChatCompletion, once the upstream answered), each text delta and tool event (in Next),
// and the end (in record, after the exchange is stored — the one completion path, also of
// generations that outlive their client).
func (s *Service) WithEvents(p events.Publisher) *Service {
	s.events = p
	return s
}

// raiseEvent reports what Next returns: text deltas and backend tool calls.
func (g *Generation) raiseEvent(e Event) {
	if g.svc.events == nil {
		return
	}
	switch {
	case e.Tool != nil && e.Tool.Type == "tool_use":
		g.raise(events.ToolCallStarted, map[string]any{"tool_call_id": e.Tool.ID, "server": e.Tool.Server, "tool": e.Tool.Name})
	case e.Tool != nil:
		g.raise(events.ToolCallCompleted, map[string]any{"tool_call_id": e.Tool.ID, "server": e.Tool.Server, "tool": e.Tool.Name,
			"is_error": e.Tool.IsError != nil && *e.Tool.IsError})
	case e.Kind == llm.EventTextDelta:
		g.raiseText(events.GenerationDelta, map[string]any{}, e.Text)
	}
}

// raiseEnd reports the end of the generation by its recorded status.
func (g *Generation) raiseEnd(status string) {
	if g.svc.events == nil {
		return
	}
	typ := map[string]events.Type{"completed": events.GenerationCompleted, "cancelled": events.GenerationCancelled}[status]
	if typ == "" {
		typ = events.GenerationFailed
	}
	data := map[string]any{"finish_reason": g.FinishReason()}
	if g.err != nil {
		data["error_code"] = llm.ErrorType(g.err)
	}
	if g.sessionID != nil {
		if sess, err := g.svc.ws.GetSession(context.WithoutCancel(g.parent), g.caller.UserID, *g.sessionID); err == nil {
			data["session_title"] = sess.Title
		}
	}
	g.raise(typ, data)
}
