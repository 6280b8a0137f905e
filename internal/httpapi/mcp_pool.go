package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/mcp"
)

// MCPPool is what the handlers need of the connection pool (mcp.Pool): connect and initialize,
// list tools, call one.
type MCPPool interface {
	Test(ctx context.Context, user uuid.UUID, s mcp.Server) (mcp.Info, error)
	Tools(ctx context.Context, user uuid.UUID, s mcp.Server, refresh bool) ([]mcp.Tool, error)
	Call(ctx context.Context, user uuid.UUID, s mcp.Server, tool string, args json.RawMessage) (mcp.Result, error)
}

// target is the caller and the server a direct use (test, tools, call) addresses.
func (h *MCPHandlers) target(ctx context.Context, id uuid.UUID) (uuid.UUID, mcp.Server, error) {
	p, err := principal(ctx)
	if err != nil {
		return uuid.Nil, mcp.Server{}, err
	}
	s, err := h.reg.Target(ctx, p.UserID, id)
	return p.UserID, s, err
}

// TestMCPServer connects to a server and initializes.
func (h *MCPHandlers) TestMCPServer(ctx context.Context, req api.TestMCPServerRequestObject) (api.TestMCPServerResponseObject, error) {
	user, s, err := h.target(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	info, err := h.pool.Test(ctx, user, s)
	if err != nil {
		return nil, err
	}
	out := api.MCPServerTest{Ok: true, LatencyMs: info.Latency.Milliseconds(), ProtocolVersion: info.ProtocolVersion, ToolCount: info.ToolCount}
	out.ServerInfo.Name, out.ServerInfo.Version = info.ServerName, info.ServerVersion
	return api.TestMCPServer200JSONResponse(out), nil
}

// ListMCPServerTools lists a server's tools (from the shared cache unless refresh).
func (h *MCPHandlers) ListMCPServerTools(ctx context.Context, req api.ListMCPServerToolsRequestObject) (api.ListMCPServerToolsResponseObject, error) {
	user, s, err := h.target(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	tools, err := h.pool.Tools(ctx, user, s, req.Params.Refresh != nil && *req.Params.Refresh)
	if err != nil {
		return nil, err
	}
	out := api.MCPToolList{Data: make([]api.MCPTool, len(tools))}
	for i, t := range tools {
		out.Data[i] = api.MCPTool{Name: t.Name, Description: t.Description, InputSchema: map[string]any{}}
		if len(t.InputSchema) > 0 {
			if err := json.Unmarshal(t.InputSchema, &out.Data[i].InputSchema); err != nil {
				return nil, err
			}
		}
	}
	return api.ListMCPServerTools200JSONResponse(out), nil
}

// CallMCPServerTool calls one tool directly, its arguments checked against its input schema.
func (h *MCPHandlers) CallMCPServerTool(ctx context.Context, req api.CallMCPServerToolRequestObject) (api.CallMCPServerToolResponseObject, error) {
	user, s, err := h.target(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	args := json.RawMessage(`{}`)
	if req.Body != nil && req.Body.Arguments != nil {
		if args, err = json.Marshal(*req.Body.Arguments); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	res, err := h.pool.Call(ctx, user, s, req.Name, args)
	// Every direct call is audited like a chat turn's (server, tool, outcome, duration; never the
	// arguments); arguments the input schema refused never reached the server.
	if !isInvalid(err) {
		if aerr := h.reg.AuditToolCall(ctx, mcp.ToolCallAudit{UserID: user, ServerID: s.ID, ServerName: s.Name, Tool: req.Name,
			Status: mcp.CallStatus(err), IsError: res.IsError, Duration: time.Since(start)}); aerr != nil && err == nil {
			return nil, aerr
		}
	}
	if err != nil {
		return nil, err
	}
	return api.CallMCPServerTool200JSONResponse(toolResultBody(res)), nil
}

func isInvalid(err error) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && ae.Kind == apperr.Invalid
}

// toolResultBody renders a result; content blocks pass through as the server sent them.
func toolResultBody(r mcp.Result) api.MCPToolResult {
	out := api.MCPToolResult{Content: make([]api.MCPContentBlock, 0, len(r.Content)), IsError: r.IsError, DurationMs: r.Duration.Milliseconds()}
	for _, raw := range r.Content {
		var b api.MCPContentBlock
		if err := json.Unmarshal(raw, &b); err == nil {
			out.Content = append(out.Content, b)
		}
	}
	if len(r.StructuredContent) > 0 {
		sc := map[string]any{}
		if err := json.Unmarshal(r.StructuredContent, &sc); err == nil {
			out.StructuredContent = &sc
		}
	}
	return out
}
