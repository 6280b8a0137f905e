// Package mcp connects to Model Context Protocol servers with the official Go SDK: an SSRF-guarded
// dialer, the Streamable HTTP, legacy SSE and stdio transports, a pool of client sessions per
// (user, server, version), a Redis-shared tool list, and tool calls whose arguments are checked
// against the tool's input schema first. The registry of stored servers lives next to it.
package mcp

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Transports, as spelled in the spec.
const (
	TransportStreamableHTTP = "streamable_http"
	TransportSSE            = "sse"
	TransportStdio          = "stdio"
)

// Server is everything the pool needs to reach one registered server (built by the registry from a
// row, headers already opened). Never log Headers.
type Server struct {
	ID            uuid.UUID
	Name          string
	Version       time.Time         // the row's updated_at: a changed server gets a fresh pooled session
	Transport     string            // one of the Transport constants
	URL           string            // streamable_http, sse
	Headers       map[string]string // plaintext secrets, sent on every request to the server's origin
	Command       string            // stdio only
	Args          []string          // stdio only
	ToolAllowlist []string          // nil or empty: every tool
}

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
