package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/mcp"
	"github.com/ccbackend/ccbackend/internal/page"
)

// MCPHandlers serve the `mcp` tag: the registry of servers, live tools and direct calls (through
// the pool), and the sessions' tool selections and tool-call lists.
type MCPHandlers struct {
	reg  *mcp.Registry
	pool MCPPool
}

// NewMCPHandlers returns the MCP handlers.
func NewMCPHandlers(reg *mcp.Registry, pool MCPPool) *MCPHandlers {
	return &MCPHandlers{reg: reg, pool: pool}
}

// adminRole is the role the spec's `admin` scope names; global and stdio servers are its to write.
const adminRole = "admin"

// mcpCaller is the registry's view of the principal.
func mcpCaller(ctx context.Context) (mcp.Caller, error) {
	p, err := principal(ctx)
	if err != nil {
		return mcp.Caller{}, err
	}
	return mcp.Caller{UserID: p.UserID, Admin: p.HasRole(adminRole)}, nil
}

// ListMCPServers pages through the caller's and the global servers.
func (h *MCPHandlers) ListMCPServers(ctx context.Context, req api.ListMCPServersRequestObject) (api.ListMCPServersResponseObject, error) {
	c, err := mcpCaller(ctx)
	if err != nil {
		return nil, err
	}
	body, err := listOf(infallible(mcpServerBody))(h.reg.ListMCPServers(ctx, c, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.ListMCPServers200JSONResponse(body), err
}

// CreateMCPServer registers a server.
func (h *MCPHandlers) CreateMCPServer(ctx context.Context, req api.CreateMCPServerRequestObject) (api.CreateMCPServerResponseObject, error) {
	c, err := mcpCaller(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.reg.CreateMCPServer(ctx, c, mcpServerFields(req.Body))
	if err != nil {
		return nil, err
	}
	noteCreated(ctx, s.ID)
	return api.CreateMCPServer201JSONResponse{Body: mcpServerBody(s), Headers: api.CreateMCPServer201ResponseHeaders{ETag: etag(s.Version)}}, nil
}

// GetMCPServer returns a server.
func (h *MCPHandlers) GetMCPServer(ctx context.Context, req api.GetMCPServerRequestObject) (api.GetMCPServerResponseObject, error) {
	c, err := mcpCaller(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.reg.GetMCPServer(ctx, c, req.Id)
	if err != nil {
		return nil, err
	}
	return api.GetMCPServer200JSONResponse{Body: mcpServerBody(s), Headers: api.GetMCPServer200ResponseHeaders{ETag: etag(s.Version)}}, nil
}

// UpdateMCPServer changes some fields of a server.
func (h *MCPHandlers) UpdateMCPServer(ctx context.Context, req api.UpdateMCPServerRequestObject) (api.UpdateMCPServerResponseObject, error) {
	c, err := mcpCaller(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.reg.UpdateMCPServer(ctx, c, req.Id, mcpServerPatch(req.Body), parseIfMatch(req.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateMCPServer200JSONResponse{Body: mcpServerBody(s), Headers: api.UpdateMCPServer200ResponseHeaders{ETag: etag(s.Version)}}, nil
}

// DeleteMCPServer deletes a server.
func (h *MCPHandlers) DeleteMCPServer(ctx context.Context, req api.DeleteMCPServerRequestObject) (api.DeleteMCPServerResponseObject, error) {
	c, err := mcpCaller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.reg.DeleteMCPServer(ctx, c, req.Id, parseIfMatch(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteMCPServer204Response{}, nil
}

// GetSessionTools returns a session's tool selection.
func (h *MCPHandlers) GetSessionTools(ctx context.Context, req api.GetSessionToolsRequestObject) (api.GetSessionToolsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	set, err := h.reg.GetSessionTools(ctx, p.UserID, req.Id)
	if err != nil {
		return nil, err
	}
	return api.GetSessionTools200JSONResponse(sessionToolsBody(set)), nil
}

// ReplaceSessionTools stores a session's tool selection.
func (h *MCPHandlers) ReplaceSessionTools(ctx context.Context, req api.ReplaceSessionToolsRequestObject) (api.ReplaceSessionToolsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	set, err := h.reg.ReplaceSessionTools(ctx, p.UserID, req.Id, mcp.ToolSet{Servers: req.Body.EnabledServers, Tools: req.Body.EnabledTools})
	if err != nil {
		return nil, err
	}
	return api.ReplaceSessionTools200JSONResponse(sessionToolsBody(set)), nil
}

// ListSessionToolCalls pages through a session's tool calls, newest first.
func (h *MCPHandlers) ListSessionToolCalls(ctx context.Context, req api.ListSessionToolCallsRequestObject) (api.ListSessionToolCallsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	body, err := listOf(toolCallBody)(h.reg.ListSessionToolCalls(ctx, p.UserID, req.Id, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.ListSessionToolCalls200JSONResponse(body), err
}
