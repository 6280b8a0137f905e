package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/chat"
)

// ChatTools is chat's ToolHost over the registry (what a request may use, the tool-calls list)
// and the pool (listing and calling); every call is audited.
type ChatTools struct {
	registry *Registry
	pool     *Pool
	log      *slog.Logger
}

var _ chat.ToolHost = (*ChatTools)(nil)

// NewChatTools returns the tool host chat turns run MCP tools through.
func NewChatTools(registry *Registry, pool *Pool, log *slog.Logger) *ChatTools {
	return &ChatTools{registry: registry, pool: pool, log: log}
}

// serverPick is one server a request may use: its tools (nil: all allowed ones), and where the
// request named it (-1: the session's selection only).
type serverPick struct {
	id    uuid.UUID
	only  map[string]bool
	named int
}

// Tools implements chat.ToolHost. A server the request names must resolve and list, or the
// request fails with its problem; a server of the session's selection that cannot is left out
// (logged), so one broken server does not stop the session's chats.
func (h *ChatTools) Tools(ctx context.Context, user uuid.UUID, sessionID *uuid.UUID, servers []uuid.UUID) ([]chat.HostTool, error) {
	picks, err := h.picks(ctx, user, sessionID, servers)
	if err != nil {
		return nil, err
	}
	var out []chat.HostTool
	for _, p := range picks {
		s, err := h.registry.Resolve(ctx, user, p.id)
		var tools []Tool
		if err == nil {
			tools, err = h.pool.Tools(ctx, user, s, false)
		}
		if err != nil {
			if p.named >= 0 {
				return nil, atServer(err, p.named)
			}
			h.log.Warn("a session's MCP server is left out of the turn", slog.String("server_id", p.id.String()), slog.String("error", err.Error()))
			continue
		}
		for _, t := range tools {
			if p.only == nil || p.only[t.Name] {
				out = append(out, chat.HostTool{ServerID: s.ID, ServerName: s.Name, Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, Ref: s})
			}
		}
	}
	return out, nil
}

// picks merges the session's selection with the servers named (a named server offers all its tools).
func (h *ChatTools) picks(ctx context.Context, user uuid.UUID, sessionID *uuid.UUID, servers []uuid.UUID) ([]serverPick, error) {
	var picks []serverPick
	at := map[uuid.UUID]int{}
	if sessionID != nil {
		set, err := h.registry.SessionToolSet(ctx, user, *sessionID)
		if err != nil {
			return nil, err
		}
		only := map[uuid.UUID]map[string]bool{}
		for _, e := range set.Tools {
			id, tool, _ := strings.Cut(e, "/")
			if sid, err := uuid.Parse(id); err == nil {
				if only[sid] == nil {
					only[sid] = map[string]bool{}
				}
				only[sid][tool] = true
			}
		}
		for _, id := range set.Servers {
			at[id] = len(picks)
			picks = append(picks, serverPick{id: id, only: only[id], named: -1})
		}
	}
	for i, id := range servers {
		if j, ok := at[id]; ok {
			picks[j].only, picks[j].named = nil, i
			continue
		}
		at[id] = len(picks)
		picks = append(picks, serverPick{id: id, named: i})
	}
	return picks, nil
}

// atServer points a named server's problem at its entry of mcp_servers.
func atServer(err error, i int) error {
	var ae *apperr.Error
	if errors.As(err, &ae) && len(ae.Fields) == 0 {
		return ae.WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: fmt.Sprintf("/mcp_servers/%d", i), Detail: ae.Detail})
	}
	return err
}

// Call implements chat.ToolHost.
func (h *ChatTools) Call(ctx context.Context, user uuid.UUID, tool chat.HostTool, args json.RawMessage) (chat.ToolResult, error) {
	s, ok := tool.Ref.(Server)
	if !ok {
		return chat.ToolResult{}, fmt.Errorf("mcp: tool %q has no MCP server", tool.Name)
	}
	res, err := h.pool.Call(ctx, user, s, tool.Name, args)
	return chat.ToolResult{Content: res.Content, Structured: res.StructuredContent, IsError: res.IsError}, err
}

// Record implements chat.ToolHost: the session's tool-calls list, and the audit log (server,
// tool, outcome, duration; never the arguments or the result).
func (h *ChatTools) Record(ctx context.Context, e chat.ToolExecution) error {
	if e.SessionID != nil {
		result := map[string]any{"content": e.Result.Content}
		if len(e.Result.Structured) > 0 {
			result["structured_content"] = e.Result.Structured
		}
		raw, err := json.Marshal(result)
		if err != nil {
			return err
		}
		if err := h.registry.RecordToolCall(ctx, ToolCallRecord{ID: e.ID, UserID: e.UserID, SessionID: *e.SessionID, ServerID: e.Tool.ServerID,
			Tool: e.Tool.Name, Arguments: e.Arguments, Result: raw, IsError: e.Result.IsError, Status: e.Status, Duration: e.Duration, CreatedAt: e.At}); err != nil {
			return err
		}
	}
	return h.registry.AuditToolCall(ctx, ToolCallAudit{UserID: e.UserID, ServerID: e.Tool.ServerID, ServerName: e.Tool.ServerName,
		Tool: e.Tool.Name, Status: e.Status, IsError: e.Result.IsError, Duration: e.Duration, CallID: &e.ID, SessionID: e.SessionID})
}
