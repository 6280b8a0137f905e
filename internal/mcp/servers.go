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

// Scopes, as spelled in the spec.
const (
	ScopeUser   = "user"
	ScopeGlobal = "global"
)

// Registration is a stored server as its users see it: headers by name and masked hint only.
type Registration struct {
	ID            uuid.UUID
	Name          string
	Transport     string
	URL           *string
	Command       *string
	Args          []string
	Headers       []HeaderHint
	Enabled       bool
	ProjectID     *uuid.UUID
	ToolAllowlist []string // nil: every tool
	Scope         string
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// HeaderHint names a stored header and masks its value.
type HeaderHint struct {
	Name string
	Hint string
}

// ServerFields are a server's writable fields. Headers are plaintext on the way in and are sealed
// before anything is stored.
type ServerFields struct {
	Name          string
	Transport     string
	URL           *string
	Command       *string
	Args          []string
	Headers       map[string]string
	Enabled       bool
	ProjectID     *uuid.UUID
	ToolAllowlist []string // nil: every tool
	Scope         string   // "" means user
}

// ServerPatch holds what a PATCH changes; nil leaves a field alone. Headers merge by name (a nil
// value removes that header); Set* says a nullable field was sent, maybe as null.
type ServerPatch struct {
	Name             *string
	Transport        *string
	URL              *string
	Command          *string
	Args             *[]string
	Headers          map[string]*string
	Enabled          *bool
	ProjectID        *uuid.UUID
	SetProjectID     bool
	ToolAllowlist    []string
	SetToolAllowlist bool
}
