package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// WorkspaceHandlers serve the `projects`, `sessions` and `sync` tags.
type WorkspaceHandlers struct {
	ws *workspace.Service
}

// NewWorkspaceHandlers returns the workspace handlers.
func NewWorkspaceHandlers(ws *workspace.Service) *WorkspaceHandlers {
	return &WorkspaceHandlers{ws: ws}
}

// orEmpty reads an optional string parameter.
func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func mapOrNil(m *map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return *m
}

// ListProjects pages through the caller's projects.
func (h *WorkspaceHandlers) ListProjects(ctx context.Context, req api.ListProjectsRequestObject) (api.ListProjectsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	pg, err := h.ws.ListProjects(ctx, p.UserID, req.Params.Q, page.Params(req.Params.Limit, req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return projectPage(pg), nil
}

// CreateProject creates a project.
func (h *WorkspaceHandlers) CreateProject(ctx context.Context, req api.CreateProjectRequestObject) (api.CreateProjectResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	pr, err := h.ws.CreateProject(ctx, p.UserID, workspace.ProjectFields{Name: b.Name, Description: b.Description, Path: b.Path, Settings: mapOrNil(b.Settings)})
	if err != nil {
		return nil, err
	}
	return api.CreateProject201JSONResponse{Body: projectBody(pr), Headers: api.CreateProject201ResponseHeaders{ETag: etag(pr.Version)}}, nil
}

// GetProject returns a project.
func (h *WorkspaceHandlers) GetProject(ctx context.Context, req api.GetProjectRequestObject) (api.GetProjectResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := h.ws.GetProject(ctx, p.UserID, req.Id)
	if err != nil {
		return nil, err
	}
	return api.GetProject200JSONResponse{Body: projectBody(pr), Headers: api.GetProject200ResponseHeaders{ETag: etag(pr.Version)}}, nil
}

// ReplaceProject overwrites a project.
func (h *WorkspaceHandlers) ReplaceProject(ctx context.Context, req api.ReplaceProjectRequestObject) (api.ReplaceProjectResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	pr, err := h.ws.ReplaceProject(ctx, p.UserID, req.Id,
		workspace.ProjectFields{Name: b.Name, Description: b.Description, Path: b.Path, Settings: mapOrNil(b.Settings)},
		parseIfMatch(req.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.ReplaceProject200JSONResponse{Body: projectBody(pr), Headers: api.ReplaceProject200ResponseHeaders{ETag: etag(pr.Version)}}, nil
}

// UpdateProject changes some fields of a project.
func (h *WorkspaceHandlers) UpdateProject(ctx context.Context, req api.UpdateProjectRequestObject) (api.UpdateProjectResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	patch := workspace.ProjectPatch{Name: b.Name, Settings: mapOrNil(b.Settings)}
	patch.Description, patch.SetDescription = sent(b.Description)
	patch.Path, patch.SetPath = sent(b.Path)
	pr, err := h.ws.UpdateProject(ctx, p.UserID, req.Id, patch, parseIfMatch(req.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateProject200JSONResponse{Body: projectBody(pr), Headers: api.UpdateProject200ResponseHeaders{ETag: etag(pr.Version)}}, nil
}

// DeleteProject deletes a project.
func (h *WorkspaceHandlers) DeleteProject(ctx context.Context, req api.DeleteProjectRequestObject) (api.DeleteProjectResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.ws.DeleteProject(ctx, p.UserID, req.Id, parseIfMatch(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteProject204Response{}, nil
}
