package httpapi

import (
	"encoding/json"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/mcp"
)

func mcpServerBody(s mcp.Registration) api.MCPServer {
	out := api.MCPServer{Id: s.ID, Name: s.Name, Transport: api.MCPTransport(s.Transport), Url: s.URL, Command: s.Command,
		Args: s.Args, Headers: make([]api.MCPHeaderHint, len(s.Headers)), Enabled: s.Enabled, ProjectId: s.ProjectID,
		Scope: api.MCPScope(s.Scope), Version: s.Version, CreatedAt: apitime.New(s.CreatedAt), UpdatedAt: apitime.New(s.UpdatedAt)}
	for i, h := range s.Headers {
		out.Headers[i] = api.MCPHeaderHint{Name: h.Name, Hint: h.Hint}
	}
	if s.ToolAllowlist != nil {
		out.ToolAllowlist = &s.ToolAllowlist
	}
	return out
}

func mcpServerFields(b *api.MCPServerCreate) mcp.ServerFields {
	f := mcp.ServerFields{Name: b.Name, Transport: string(b.Transport), URL: b.Url, Command: b.Command, ProjectID: b.ProjectId, Enabled: true}
	if b.Args != nil {
		f.Args = *b.Args
	}
	if b.Headers != nil {
		f.Headers = *b.Headers
	}
	if b.Enabled != nil {
		f.Enabled = *b.Enabled
	}
	if b.ToolAllowlist != nil {
		f.ToolAllowlist = *b.ToolAllowlist
	}
	if b.Scope != nil {
		f.Scope = string(*b.Scope)
	}
	return f
}

func mcpServerPatch(b *api.MCPServerPatch) mcp.ServerPatch {
	p := mcp.ServerPatch{Name: b.Name, URL: b.Url, Command: b.Command, Args: b.Args, Enabled: b.Enabled}
	if b.Transport != nil {
		t := string(*b.Transport)
		p.Transport = &t
	}
	if b.Headers != nil {
		p.Headers = *b.Headers
	}
	p.ProjectID, p.SetProjectID = sent(b.ProjectId)
	if list, set := sent(b.ToolAllowlist); set {
		p.SetToolAllowlist = true
		if list != nil {
			p.ToolAllowlist = *list
		}
	}
	return p
}

func sessionToolsBody(set mcp.ToolSet) api.SessionTools {
	return api.SessionTools{EnabledServers: set.Servers, EnabledTools: set.Tools}
}

func toolCallBody(c mcp.ToolCallRecord) (api.MCPToolCall, error) {
	out := api.MCPToolCall{Id: c.ID, ServerId: c.ServerID, Tool: c.Tool, IsError: c.IsError, Status: api.MCPToolCallStatus(c.Status),
		DurationMs: c.Duration.Milliseconds(), CreatedAt: apitime.New(c.CreatedAt), Arguments: map[string]any{}}
	if err := json.Unmarshal(c.Arguments, &out.Arguments); err != nil {
		return api.MCPToolCall{}, err
	}
	if len(c.Result) > 0 && string(c.Result) != "null" {
		result := map[string]any{}
		if err := json.Unmarshal(c.Result, &result); err != nil {
			return api.MCPToolCall{}, err
		}
		out.Result = &result
	}
	return out, nil
}
