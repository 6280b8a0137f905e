package chat

import (
	"context"
	"strings"

	"github.com/google/uuid"

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

// The data of the events a generation raises (api/openapi.yaml, Event), as types so that each
// is encoded once, by the feed's publisher.

// feedRef names the generation an event is about; session_id is null without a session.
type feedRef struct {
	GenerationID string     `json:"generation_id"`
	SessionID    *uuid.UUID `json:"session_id"`
}

func (g *Generation) ref() feedRef { return feedRef{GenerationID: g.ID, SessionID: g.sessionID} }

type startedData struct {
	feedRef
	Model string `json:"model"`
}

type deltaData struct {
	feedRef
	Index int             `json:"index"`
	Delta string          `json:"delta"`
	text  strings.Builder // Delta while later deltas may still merge into it (feed.go)
}

type toolData struct {
	feedRef
	ToolCallID string `json:"tool_call_id"`
	ServerID   string `json:"server_id"` // the MCP server's id, as the spec's Event names it
	Tool       string `json:"tool"`
	IsError    *bool  `json:"is_error,omitempty"` // tool.call_completed only
}

type endData struct {
	feedRef
	FinishReason string `json:"finish_reason"`
	ErrorCode    string `json:"error_code,omitempty"` // a failure's llm.ErrorType, never empty
	// SessionTitle is absent without a session (or when it could not be read) and null for an
	// untitled one.
	SessionTitle **string `json:"session_title,omitempty"`
}

// raiseEvent reports what Next returns: text deltas and backend tool calls.
func (g *Generation) raiseEvent(e Event) {
	if g.svc.events == nil {
		return
	}
	switch {
	case e.Tool != nil && e.Tool.Type == "tool_use":
		g.raise(events.ToolCallStarted, toolData{feedRef: g.ref(), ToolCallID: e.Tool.ID, ServerID: e.Tool.Server, Tool: e.Tool.Name})
	case e.Tool != nil:
		isError := e.Tool.IsError != nil && *e.Tool.IsError
		g.raise(events.ToolCallCompleted, toolData{feedRef: g.ref(), ToolCallID: e.Tool.ID, ServerID: e.Tool.Server, Tool: e.Tool.Name,
			IsError: &isError})
	case e.Kind == llm.EventTextDelta:
		g.raiseDelta(e.Text)
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
	data := endData{feedRef: g.ref(), FinishReason: g.FinishReason()}
	if g.err != nil {
		data.ErrorCode = llm.ErrorType(g.err)
	}
	switch {
	case g.sessionTitle != nil: // as the exchange's last stored message found it
		data.SessionTitle = g.sessionTitle
	case g.sessionID != nil: // nothing was stored
		if sess, err := g.svc.ws.GetSession(context.WithoutCancel(g.parent), g.caller.UserID, *g.sessionID); err == nil {
			data.SessionTitle = &sess.Title
		}
	}
	g.raise(typ, data)
}
