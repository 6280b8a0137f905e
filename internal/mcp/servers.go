// Package mcp connects users to their Model Context Protocol servers: the registry of stored
// servers (sealed headers, ownership, the global and stdio rules), which servers and tools a
// session may use, the record of tool calls, and the pool of live client sessions.
package mcp

import (
	"time"

	"github.com/google/uuid"
)

// Transports, as spelled in the spec.
const (
	TransportStreamableHTTP = "streamable_http"
	TransportSSE            = "sse"
	TransportStdio          = "stdio"
)

// Server is everything the pool needs to reach one registered server, built by the registry from a
// row with its headers already opened. Never log Headers.
type Server struct {
	ID            uuid.UUID
	Name          string
	Version       time.Time         // the row's updated_at: a changed server gets a fresh pooled session
	Transport     string            // one of the Transport constants
	URL           string            // streamable_http, sse
	Headers       map[string]string // plaintext secrets
	Command       string            // stdio only
	Args          []string          // stdio only
	ToolAllowlist []string          // nil or empty: every tool
}
