package mcp

import (
	"context"
	"errors"
	"maps"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// UpdateMCPServer changes the fields the patch names, if the server's version is still expected
// (nil: any). Global servers are for administrators to change.
func (r *Registry) UpdateMCPServer(ctx context.Context, c Caller, id uuid.UUID, p ServerPatch, expected *int64) (Registration, error) {
	var out Registration
	err := r.store.InTx(ctx, func(q *db.Queries) error {
		row, err := r.lockForChange(ctx, q, c, id, expected)
		if err != nil {
			return err
		}
		headers, err := r.openHeaders(row.ID, row.HeadersSealed)
		if err != nil {
			return err
		}
		f := merge(row, headers, p)
		if err := r.authorize(c, f); err != nil {
			return err
		}
		if err := validate(f); err != nil {
			return err
		}
		if err := checkProject(ctx, q, c.UserID, f.ProjectID); err != nil {
			return err
		}
		sealed, err := r.sealHeaders(row.ID, f.Headers)
		if err != nil {
			return err
		}
		now := r.now()
		updated, err := q.UpdateMCPServer(ctx, db.UpdateMCPServerParams{ID: row.ID, ProjectID: f.ProjectID, Name: f.Name,
			Transport: f.Transport, Url: f.URL, Command: f.Command, Args: orEmpty(f.Args), HeaderNames: sealed.names,
			HeaderHints: sealed.hints, HeadersSealed: sealed.sealed, ToolAllowlist: f.ToolAllowlist, Enabled: f.Enabled, Now: now})
		if err != nil {
			return nameConflict(err)
		}
		out = registrationFromRow(updated)
		return audit.Record(ctx, q, now, serverEvent(AuditServerUpdate, c, out))
	})
	return out, err
}

// DeleteMCPServer deletes a server; sessions lose it from their selection, tool calls stay.
func (r *Registry) DeleteMCPServer(ctx context.Context, c Caller, id uuid.UUID, expected *int64) error {
	return r.store.InTx(ctx, func(q *db.Queries) error {
		row, err := r.lockForChange(ctx, q, c, id, expected)
		if err != nil {
			return err
		}
		if err := q.DeleteMCPServer(ctx, row.ID); err != nil {
			return err
		}
		return audit.Record(ctx, q, r.now(), serverEvent(AuditServerDelete, c, registrationFromRow(row)))
	})
}

// lockForChange locks a server the caller may change: invisible is NotFound, global without the
// admin role Forbidden, another version than expected PreconditionFailed.
func (r *Registry) lockForChange(ctx context.Context, q *db.Queries, c Caller, id uuid.UUID, expected *int64) (db.McpServer, error) {
	row, err := q.GetMCPServerForUpdate(ctx, db.GetMCPServerForUpdateParams{ID: id, UserID: &c.UserID})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return row, errServerNotFound
	case err != nil:
		return row, err
	case row.Scope == ScopeGlobal && !c.Admin:
		return row, errAdminOnly
	case expected != nil && *expected != row.Version:
		return row, errStale
	}
	return row, nil
}

// merge applies a patch to a stored row (with its opened headers). Switching transport drops the
// fields only the old one used, so the result is checked as a whole by validate.
func merge(row db.McpServer, headers map[string]string, p ServerPatch) ServerFields {
	f := ServerFields{Name: row.Name, Transport: row.Transport, URL: row.Url, Command: row.Command, Args: row.Args,
		Headers: maps.Clone(headers), Enabled: row.Enabled, ProjectID: row.ProjectID, ToolAllowlist: row.ToolAllowlist, Scope: row.Scope}
	if p.Transport != nil && *p.Transport != row.Transport {
		f.Transport = *p.Transport
		if f.Transport == TransportStdio {
			f.URL, f.Headers = nil, nil
		} else if row.Transport == TransportStdio {
			f.Command, f.Args = nil, nil
		}
	}
	if p.Name != nil {
		f.Name = *p.Name
	}
	if p.URL != nil {
		f.URL = p.URL
	}
	if p.Command != nil {
		f.Command = p.Command
	}
	if p.Args != nil {
		f.Args = *p.Args
	}
	if f.Headers == nil && len(p.Headers) > 0 {
		f.Headers = map[string]string{}
	}
	for name, v := range p.Headers {
		// Names are case-insensitive: "authorization" replaces or removes "Authorization".
		maps.DeleteFunc(f.Headers, func(k, _ string) bool { return strings.EqualFold(k, name) })
		if v != nil {
			f.Headers[name] = *v
		}
	}
	if p.Enabled != nil {
		f.Enabled = *p.Enabled
	}
	if p.SetProjectID {
		f.ProjectID = p.ProjectID
	}
	if p.SetToolAllowlist {
		f.ToolAllowlist = p.ToolAllowlist
	}
	return f
}
