package mcp

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// HeadersPurpose is the secret.Box purpose that seals server headers: a key of their own, so a
// sealed header can never be opened as (or mistaken for) another kind of secret.
const HeadersPurpose = "mcp-server-headers"

// Registry is the stored servers, which of them each session may use, and the tool calls made.
// Each public method is one transaction (or one statement).
type Registry struct {
	store      *store.Store
	box        *secret.Box
	cursors    *page.Cursors
	now        func() time.Time
	allowStdio bool
}

// NewRegistry returns the registry. box must be made for HeadersPurpose; allowStdio is
// CCB_MCP_ALLOW_STDIO (stdio servers run a command on this host, so even administrators need the
// deployment to opt in).
func NewRegistry(st *store.Store, box *secret.Box, cursors *page.Cursors, now func() time.Time, allowStdio bool) *Registry {
	return &Registry{store: st, box: box, cursors: cursors, now: now, allowStdio: allowStdio}
}

// Caller is who asks: their id and whether they hold the admin role (global and stdio servers are
// theirs to write).
type Caller struct {
	UserID uuid.UUID
	Admin  bool
}

var (
	errServerNotFound = apperr.New(apperr.NotFound, "not_found", "no such MCP server")
	errAdminOnly      = apperr.New(apperr.Forbidden, "mcp_admin_only", "only administrators create or change global and stdio MCP servers")
	errStdioDisabled  = apperr.New(apperr.Forbidden, "mcp_stdio_disabled", "stdio MCP servers are disabled on this deployment")
	errStale          = apperr.New(apperr.PreconditionFailed, "precondition_failed", "the resource changed since the ETag in If-Match; fetch it again")
)

// Resolve returns the server for a chat turn: the user's own or a global one, enabled, with its
// headers opened. Anything else is NotFound; a stdio server while stdio is off is Forbidden.
func (r *Registry) Resolve(ctx context.Context, user uuid.UUID, serverID uuid.UUID) (Server, error) {
	return r.resolve(ctx, user, serverID, true)
}

// Target returns a server for a direct use (test, tool list, call): as Resolve, but a disabled
// server may be used too, so a configuration can be tried before it is offered to chats.
func (r *Registry) Target(ctx context.Context, user uuid.UUID, serverID uuid.UUID) (Server, error) {
	return r.resolve(ctx, user, serverID, false)
}

func (r *Registry) resolve(ctx context.Context, user, serverID uuid.UUID, enabledOnly bool) (Server, error) {
	row, err := r.store.Queries().GetMCPServer(ctx, db.GetMCPServerParams{ID: serverID, UserID: &user})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && enabledOnly && !row.Enabled) {
		return Server{}, errServerNotFound
	} else if err != nil {
		return Server{}, store.MapError(err)
	}
	if row.Transport == TransportStdio && !r.allowStdio {
		return Server{}, errStdioDisabled
	}
	headers, err := r.openHeaders(row.ID, row.HeadersSealed)
	if err != nil {
		return Server{}, err
	}
	s := Server{ID: row.ID, Name: row.Name, Version: row.UpdatedAt, Transport: row.Transport, Headers: headers,
		Args: row.Args, ToolAllowlist: row.ToolAllowlist}
	if row.Url != nil {
		s.URL = *row.Url
	}
	if row.Command != nil {
		s.Command = *row.Command
	}
	return s, nil
}
