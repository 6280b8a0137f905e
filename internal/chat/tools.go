package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ToolHost runs tools on the backend's side of a chat turn (registered MCP servers): the chat
// loop offers its tools to the model, executes the calls the model makes and feeds the results
// back. The loop knows nothing of transports or registries; an adapter over the MCP pool and
// registry implements this (wired in internal/app).
type ToolHost interface {
	// Tools lists what a request may use: the tools enabled for the session (sessionID may be
	// nil) and every allowed tool of the servers the request names. A named server the caller
	// may not use is an apperr NotFound.
	Tools(ctx context.Context, user uuid.UUID, sessionID *uuid.UUID, servers []uuid.UUID) ([]HostTool, error)
	// Call runs one tool. A tool that ran and reported an error is a ToolResult with IsError;
	// an error means the call could not complete (an apperr of kind Timeout is a timeout, a
	// context error a cancel or the turn's deadline).
	Call(ctx context.Context, user uuid.UUID, tool HostTool, args json.RawMessage) (ToolResult, error)
	// Record stores one execution: in the session's tool-calls list when there is a session,
	// and in the audit log (never the arguments). A failure is the host's to log.
	Record(ctx context.Context, e ToolExecution) error
}

// HostTool is one tool a ToolHost offers.
type HostTool struct {
	ServerID    uuid.UUID
	ServerName  string
	Name        string // the tool's own name on its server
	Description string
	InputSchema json.RawMessage // JSON Schema object of the arguments
	// Ref is the host's own handle on the tool's server (the chat loop never reads it).
	Ref any
}

// ToolResult is what a tool answered. Content holds MCP content blocks as JSON objects.
type ToolResult struct {
	Content    []json.RawMessage
	Structured json.RawMessage // nil when absent
	IsError    bool
}

// Tool execution statuses, as the tool-calls list spells them.
const (
	ToolCompleted = "completed" // the tool ran (its result may still be is_error)
	ToolFailed    = "failed"
	ToolTimeout   = "timeout"
	ToolCancelled = "cancelled"
)

// ToolExecution is one call the loop ran, for ToolHost.Record.
type ToolExecution struct {
	ID        uuid.UUID  // the tool-call row's id
	CallID    string     // the model's tool_use id
	UserID    uuid.UUID  //
	SessionID *uuid.UUID // nil: no session, nothing to list (still audited)
	Tool      HostTool
	Arguments json.RawMessage
	Result    ToolResult
	Status    string // ToolCompleted, ToolFailed, ToolTimeout or ToolCancelled
	Duration  time.Duration
	At        time.Time
}

// ToolLoop configures backend tool execution inside chat turns.
type ToolLoop struct {
	Host ToolHost // nil: no backend tools
	// MaxSteps bounds the upstream requests of one turn (CCB_MCP_MAX_STEPS); values below 1 mean 8.
	MaxSteps int
	// TurnTimeout bounds a whole turn in which backend tools take part (CCB_MCP_TURN_TIMEOUT);
	// 0: no bound beyond the client's.
	TurnTimeout time.Duration
}

func (l ToolLoop) maxSteps() int {
	if l.MaxSteps < 1 {
		return 8
	}
	return l.MaxSteps
}

// ToolEvent is the `ccb_tool` member of a stream chunk with empty choices: the backend called a
// tool (tool_use, with its input) or got its answer (tool_result, with content, is_error and
// duration_ms). OpenAI SDKs ignore the member and see a chunk without choices.
type ToolEvent struct {
	Type       string            `json:"type"`
	ID         string            `json:"id"`
	Server     string            `json:"server"`
	Name       string            `json:"name"`
	Input      json.RawMessage   `json:"input,omitempty"`
	Content    []json.RawMessage `json:"content,omitempty"`
	IsError    *bool             `json:"is_error,omitempty"`
	DurationMs *float64          `json:"duration_ms,omitempty"`
}

// offerTools adds the backend tools the request may use to the upstream request: those enabled
// for its session and those of the servers it names (mcp_servers). Without either, the host is
// not asked, so a plain chat request pays nothing for the loop.
func (s *Service) offerTools(ctx context.Context, caller Caller, req Request, p *prepared) (*toolTable, error) {
	if s.loop.Host == nil || (p.sessionID == nil && len(req.MCPServers) == 0) {
		return nil, nil
	}
	servers := make([]uuid.UUID, 0, len(req.MCPServers))
	for i, raw := range req.MCPServers {
		id, err := uuid.Parse(raw)
		if err != nil {
			return nil, invalid(fmt.Sprintf("/mcp_servers/%d", i), "not a UUID")
		}
		servers = append(servers, id)
	}
	if !p.model.Tools {
		if len(servers) > 0 {
			return nil, invalid("/mcp_servers", "this model does not support tools")
		}
		return nil, nil // a session's tools wait for a model that can call them
	}
	host, err := s.loop.Host.Tools(ctx, caller.UserID, p.sessionID, servers)
	if err != nil || len(host) == 0 {
		return nil, err
	}
	table, offered := newToolTable(p.lr.Tools, host)
	p.lr.Tools = append(p.lr.Tools, offered...)
	return table, nil
}
