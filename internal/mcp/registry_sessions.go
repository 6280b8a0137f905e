package mcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// ToolSet is what a chat turn in a session may use: the servers (enabled, visible to the user, in
// the session's order) and tool entries "<server_id>/<tool>". A server with no entry in Tools
// offers all of its allowed tools; Tools empty therefore means every allowed tool of Servers.
type ToolSet struct {
	Servers []uuid.UUID
	Tools   []string
}

// ToolEntry is the "<server_id>/<tool>" form of one selected tool.
func ToolEntry(server uuid.UUID, tool string) string { return server.String() + "/" + tool }

var errSessionNotFound = apperr.New(apperr.NotFound, "not_found", "no such session")

// SessionToolSet returns what a chat turn in the user's session may use; another user's session is
// NotFound. Disabled servers and servers the user no longer sees are left out.
func (r *Registry) SessionToolSet(ctx context.Context, user, sessionID uuid.UUID) (ToolSet, error) {
	var out ToolSet
	err := r.store.InTx(ctx, func(q *db.Queries) error {
		if err := checkSession(ctx, q, user, sessionID); err != nil {
			return err
		}
		rows, err := q.ListUsableSessionMCPServers(ctx, db.ListUsableSessionMCPServersParams{SessionID: sessionID, UserID: user})
		out = toolSet(rows, func(r db.ListUsableSessionMCPServersRow) (uuid.UUID, []string) { return r.ServerID, r.Tools })
		return err
	})
	return out, err
}

// GetSessionTools returns the session's stored selection.
func (r *Registry) GetSessionTools(ctx context.Context, user, sessionID uuid.UUID) (ToolSet, error) {
	var out ToolSet
	err := r.store.InTx(ctx, func(q *db.Queries) error {
		if err := checkSession(ctx, q, user, sessionID); err != nil {
			return err
		}
		rows, err := q.ListSessionMCPServers(ctx, db.ListSessionMCPServersParams{SessionID: sessionID, UserID: user})
		out = toolSet(rows, func(r db.ListSessionMCPServersRow) (uuid.UUID, []string) { return r.ServerID, r.Tools })
		return err
	})
	return out, err
}

// ReplaceSessionTools stores a new selection. Each server must be one the user sees (a 400
// pointing at the entry otherwise, the same for a missing and another user's server); each tool
// entry must name a selected server.
func (r *Registry) ReplaceSessionTools(ctx context.Context, user, sessionID uuid.UUID, set ToolSet) (ToolSet, error) {
	tools, err := groupTools(set)
	if err != nil {
		return ToolSet{}, err
	}
	err = r.store.InTx(ctx, func(q *db.Queries) error {
		if err := checkSession(ctx, q, user, sessionID); err != nil {
			return err
		}
		if err := q.ClearSessionMCPServers(ctx, db.ClearSessionMCPServersParams{SessionID: sessionID, UserID: user}); err != nil {
			return err
		}
		for i, id := range set.Servers {
			_, err := q.GetMCPServer(ctx, db.GetMCPServerParams{ID: id, UserID: &user})
			if errors.Is(err, pgx.ErrNoRows) {
				return invalidEntry(fmt.Sprintf("/enabled_servers/%d", i), "no such MCP server")
			} else if err != nil {
				return err
			}
			if err := q.AddSessionMCPServer(ctx, db.AddSessionMCPServerParams{SessionID: sessionID, ServerID: id, UserID: user,
				Position: int32(i), Tools: orEmpty(tools[id])}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ToolSet{}, err
	}
	return r.GetSessionTools(ctx, user, sessionID)
}

// groupTools parses the tool entries by server, each of which must be selected.
func groupTools(set ToolSet) (map[uuid.UUID][]string, error) {
	selected := map[uuid.UUID]bool{}
	for _, id := range set.Servers {
		selected[id] = true
	}
	out := map[uuid.UUID][]string{}
	for i, entry := range set.Tools {
		server, tool, ok := strings.Cut(entry, "/")
		id, err := uuid.Parse(server)
		pointer := fmt.Sprintf("/enabled_tools/%d", i)
		switch {
		case !ok || err != nil || tool == "":
			return nil, invalidEntry(pointer, "must be {server_id}/{tool name}")
		case !selected[id]:
			return nil, invalidEntry(pointer, "names a server that is not in enabled_servers")
		}
		out[id] = append(out[id], tool)
	}
	return out, nil
}

func toolSet[R any](rows []R, split func(R) (uuid.UUID, []string)) ToolSet {
	out := ToolSet{Servers: []uuid.UUID{}, Tools: []string{}}
	for _, r := range rows {
		id, tools := split(r)
		out.Servers = append(out.Servers, id)
		for _, t := range tools {
			out.Tools = append(out.Tools, ToolEntry(id, t))
		}
	}
	return out
}

func checkSession(ctx context.Context, q *db.Queries, user, sessionID uuid.UUID) error {
	_, err := q.GetSession(ctx, db.GetSessionParams{ID: sessionID, UserID: user})
	if errors.Is(err, pgx.ErrNoRows) {
		return errSessionNotFound
	}
	return err
}

func invalidEntry(pointer, detail string) error {
	return apperr.New(apperr.Invalid, "validation_failed", "the tool selection is not valid").
		WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: pointer, Detail: detail})
}
