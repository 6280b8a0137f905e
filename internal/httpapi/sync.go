package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/page"
)

// GetChanges returns the sync feed after a cursor.
func (h *WorkspaceHandlers) GetChanges(ctx context.Context, req api.GetChangesRequestObject) (api.GetChangesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	limit := page.Size(req.Params.Limit)
	changes, next, more, err := h.ws.GetChanges(ctx, p.UserID, limit, orEmpty(req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	body := api.SyncPage{Data: make([]api.SyncChange, len(changes)), HasMore: more, NextCursor: next}
	for i, c := range changes {
		if body.Data[i], err = changeBody(c); err != nil {
			return nil, err
		}
	}
	return api.GetChanges200JSONResponse(body), nil
}
