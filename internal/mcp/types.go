package mcp

// The pool's side of the package: an SSRF-guarded dialer, the SDK's Streamable HTTP, legacy SSE
// and stdio transports, client sessions per (user, server, version), a Redis-shared tool list, and
// tool calls whose arguments are checked against the tool's input schema first.

import (
	"encoding/json"
	"time"
)

// Tool is one tool of a server as listed live (after the allowlist).
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"` // JSON Schema object
}

// Info is what a successful connect + initialize reports.
type Info struct {
	ProtocolVersion string
	ServerName      string
	ServerVersion   string
	ToolCount       int
	Latency         time.Duration
}

// Result is one tool call's outcome. Content holds MCP content blocks re-encoded as JSON objects
// ({"type":"text","text":…}, {"type":"image",…}, …). A tool that runs and reports isError is a
// Result with IsError, not an error.
type Result struct {
	Content           []json.RawMessage
	StructuredContent json.RawMessage // nil when absent
	IsError           bool
	Duration          time.Duration
}

// allowed reports whether the server's allowlist lets tool through.
func (s Server) allowed(tool string) bool {
	if len(s.ToolAllowlist) == 0 {
		return true
	}
	for _, t := range s.ToolAllowlist {
		if t == tool {
			return true
		}
	}
	return false
}
