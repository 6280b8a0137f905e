package mcp

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// The audited server changes (values of the contract's AuditAction enum).
const (
	AuditServerCreate audit.Action = "mcp.server_create"
	AuditServerUpdate audit.Action = "mcp.server_update"
	AuditServerDelete audit.Action = "mcp.server_delete"
)

func registrationFromRow(r db.McpServer) Registration {
	out := Registration{ID: r.ID, Name: r.Name, Transport: r.Transport, URL: r.Url, Command: r.Command, Args: r.Args,
		Headers: make([]HeaderHint, len(r.HeaderNames)), Enabled: r.Enabled, ProjectID: r.ProjectID,
		ToolAllowlist: r.ToolAllowlist, Scope: r.Scope, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	for i, name := range r.HeaderNames {
		out.Headers[i] = HeaderHint{Name: name, Hint: r.HeaderHints[i]}
	}
	if out.Args == nil {
		out.Args = []string{}
	}
	return out
}

// CreateMCPServer registers a server for the caller (or, for an admin, a global one).
func (r *Registry) CreateMCPServer(ctx context.Context, c Caller, f ServerFields) (Registration, error) {
	if f.Scope == "" {
		f.Scope = ScopeUser
	}
	if err := r.authorize(c, f); err != nil {
		return Registration{}, err
	}
	if err := validate(f); err != nil {
		return Registration{}, err
	}
	id := uuid.New()
	sealed, err := r.sealHeaders(id, f.Headers)
	if err != nil {
		return Registration{}, err
	}
	var owner *uuid.UUID
	if f.Scope == ScopeUser {
		owner = &c.UserID
	}
	var out Registration
	err = r.store.InTx(ctx, func(q *db.Queries) error {
		if err := checkProject(ctx, q, c.UserID, f.ProjectID); err != nil {
			return err
		}
		now := r.now()
		row, err := q.CreateMCPServer(ctx, db.CreateMCPServerParams{ID: id, UserID: owner, Scope: f.Scope, ProjectID: f.ProjectID,
			Name: f.Name, Transport: f.Transport, Url: f.URL, Command: f.Command, Args: orEmpty(f.Args),
			HeaderNames: sealed.names, HeaderHints: sealed.hints, HeadersSealed: sealed.sealed,
			ToolAllowlist: f.ToolAllowlist, Enabled: f.Enabled, Now: now})
		if err != nil {
			return nameConflict(err)
		}
		out = registrationFromRow(row)
		return audit.Record(ctx, q, now, serverEvent(AuditServerCreate, c, out))
	})
	return out, err
}

// GetMCPServer returns a server the caller may see (own or global).
func (r *Registry) GetMCPServer(ctx context.Context, c Caller, id uuid.UUID) (Registration, error) {
	row, err := r.store.Queries().GetMCPServer(ctx, db.GetMCPServerParams{ID: id, UserID: &c.UserID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Registration{}, errServerNotFound
	} else if err != nil {
		return Registration{}, store.MapError(err)
	}
	return registrationFromRow(row), nil
}

// ListMCPServers pages through the caller's servers and the global ones, newest first.
func (r *Registry) ListMCPServers(ctx context.Context, c Caller, req page.Request) (page.Page[Registration], error) {
	return page.Fetch(ctx, r.cursors, page.List[db.McpServer, page.TimeID]{
		Name: "mcp_servers", Owner: c.UserID,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.McpServer, error) {
			at, id := after.Split()
			return r.store.Reader(ctx, c.UserID).ListMCPServers(ctx, db.ListMCPServersParams{UserID: &c.UserID, BeforeCreated: at, BeforeID: id, MaxRows: limit})
		},
		Position: func(s db.McpServer) page.TimeID { return page.At(s.CreatedAt, s.ID) },
	}, req, registrationFromRow)
}

// checkProject makes sure a named project is the caller's.
func checkProject(ctx context.Context, q *db.Queries, user uuid.UUID, project *uuid.UUID) error {
	if project == nil {
		return nil
	}
	_, err := q.GetProject(ctx, db.GetProjectParams{ID: *project, UserID: user})
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.New(apperr.NotFound, "not_found", "no such project")
	}
	return err
}

// nameConflict explains the one unique value a server has.
func nameConflict(err error) error {
	mapped := store.MapError(err)
	if e, ok := apperr.As(mapped); ok && e.Kind == apperr.Conflict && e.Code == "conflict" {
		return apperr.Wrap(err, apperr.Conflict, "conflict", "an MCP server with this name exists already")
	}
	return mapped
}

// serverEvent is the audit entry of a server change: what identifies the server and the names of
// its headers, never their values.
func serverEvent(action audit.Action, c Caller, s Registration) audit.Event {
	names := make([]string, len(s.Headers))
	for i, h := range s.Headers {
		names[i] = h.Name
	}
	subject := c.UserID
	if s.Scope == ScopeGlobal {
		subject = uuid.Nil
	}
	return audit.Event{Action: action, Outcome: audit.Success, ActorID: c.UserID, SubjectID: subject, Details: map[string]any{
		"server_id": s.ID.String(), "name": s.Name, "scope": s.Scope, "transport": s.Transport, "header_names": names,
	}}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
