package workspace

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/freeform"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Project is a user's project.
type Project struct {
	ID          uuid.UUID
	Name        string
	Description *string
	Path        *string
	Settings    map[string]any
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func projectFromRow(r db.Project) Project {
	return Project{ID: r.ID, Name: r.Name, Description: r.Description, Path: r.Path, Settings: object(r.Settings),
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// ProjectFields are a project's writable fields.
type ProjectFields struct {
	Name        string
	Description *string
	Path        *string
	Settings    map[string]any
}

// ProjectPatch holds the fields a PATCH changes; Set* says a nullable field was sent (maybe null).
type ProjectPatch struct {
	Name           *string
	Description    *string
	SetDescription bool
	Path           *string
	SetPath        bool
	Settings       map[string]any
}

// CreateProject creates a project for the user.
func (s *Service) CreateProject(ctx context.Context, userID uuid.UUID, f ProjectFields) (out Project, err error) {
	defer s.raise(ctx, &err, userID, events.ProjectCreated, func() any { return projectEvent(out.ID) })
	settings, err := freeform.Encode(f.Settings, freeform.Settings, "/settings")
	if err != nil {
		return Project{}, err
	}
	row, err := s.store.Queries().CreateProject(ctx, db.CreateProjectParams{UserID: userID, Name: f.Name, Description: f.Description,
		Path: f.Path, Settings: settings, Now: s.now()})
	if err != nil {
		return Project{}, store.MapError(err)
	}
	return projectFromRow(row), nil
}

// GetProject returns one of the user's projects.
func (s *Service) GetProject(ctx context.Context, userID, id uuid.UUID) (Project, error) {
	row, err := s.store.Queries().GetProject(ctx, db.GetProjectParams{ID: id, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Project{}, notFound("project")
	} else if err != nil {
		return Project{}, err
	}
	return projectFromRow(row), nil
}

// ListProjects pages through the user's projects, newest first; q filters names (contains,
// case-insensitive).
func (s *Service) ListProjects(ctx context.Context, userID uuid.UUID, q *string, req page.Request) (page.Page[Project], error) {
	var like *string
	if q != nil {
		l := "%" + store.EscapeLike(strings.ToLower(*q)) + "%"
		like = &l
	}
	return page.Fetch(ctx, s.cursors, page.List[db.Project, page.TimeID]{
		Name: "projects", Owner: userID, Filter: like,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.Project, error) {
			at, id := after.Split()
			return s.store.Reader(ctx, userID).ListProjects(ctx, db.ListProjectsParams{UserID: userID, NameLike: like, BeforeCreated: at, BeforeID: id, MaxRows: limit})
		},
		Position: func(r db.Project) page.TimeID { return page.At(r.CreatedAt, r.ID) },
		Size: func(r db.Project) int {
			return page.ItemOverhead + len(r.Settings) + len(r.Name) + page.TextLen(r.Description) + page.TextLen(r.Path)
		},
	}, req, projectFromRow)
}

// ReplaceProject overwrites every field (PUT).
func (s *Service) ReplaceProject(ctx context.Context, userID, id uuid.UUID, f ProjectFields, expected *int64) (Project, error) {
	if err := freeform.Check(f.Settings, freeform.Settings, "/settings"); err != nil {
		return Project{}, err
	}
	return s.changeProject(ctx, userID, id, expected, func(*Project) ProjectFields { return f })
}

// UpdateProject changes the fields the patch names.
func (s *Service) UpdateProject(ctx context.Context, userID, id uuid.UUID, p ProjectPatch, expected *int64) (Project, error) {
	if err := freeform.Check(p.Settings, freeform.Settings, "/settings"); err != nil {
		return Project{}, err
	}
	return s.changeProject(ctx, userID, id, expected, func(cur *Project) ProjectFields {
		f := ProjectFields{Name: cur.Name, Description: cur.Description, Path: cur.Path, Settings: cur.Settings}
		if p.Name != nil {
			f.Name = *p.Name
		}
		if p.SetDescription {
			f.Description = p.Description
		}
		if p.SetPath {
			f.Path = p.Path
		}
		if p.Settings != nil {
			f.Settings = p.Settings
		}
		return f
	})
}

// changeProject locks the project, checks the expected version, and writes the fields merge derives.
func (s *Service) changeProject(ctx context.Context, userID, id uuid.UUID, expected *int64, merge func(*Project) ProjectFields) (out Project, err error) {
	defer s.raise(ctx, &err, userID, events.ProjectUpdated, func() any { return projectEvent(id) })
	err = s.store.InTx(ctx, func(q *db.Queries) error {
		row, err := q.GetProjectForUpdate(ctx, db.GetProjectForUpdateParams{ID: id, UserID: userID})
		if err := checkLocked(err, "project", row.Version, expected); err != nil {
			return err
		}
		cur := projectFromRow(row)
		f := merge(&cur)
		settings, err := encodeObject(f.Settings)
		if err != nil {
			return err
		}
		updated, err := q.UpdateProject(ctx, db.UpdateProjectParams{Name: f.Name, Description: f.Description, Path: f.Path,
			Settings: settings, Now: s.now(), ID: id, UserID: userID, ExpectedVersion: &row.Version})
		if err != nil {
			return err
		}
		out = projectFromRow(updated)
		return nil
	})
	return out, err
}

// DeleteProject deletes a project; its sessions stay, detached.
func (s *Service) DeleteProject(ctx context.Context, userID, id uuid.UUID, expected *int64) (err error) {
	defer s.raise(ctx, &err, userID, events.ProjectDeleted, func() any { return projectEvent(id) })
	return s.store.InTx(ctx, func(q *db.Queries) error {
		row, err := q.GetProjectForUpdate(ctx, db.GetProjectForUpdateParams{ID: id, UserID: userID})
		if err := checkLocked(err, "project", row.Version, expected); err != nil {
			return err
		}
		if err := q.DetachProjectSessions(ctx, db.DetachProjectSessionsParams{Now: s.now(), ProjectID: &id, UserID: userID}); err != nil {
			return err
		}
		_, err = q.DeleteProject(ctx, db.DeleteProjectParams{ID: id, UserID: userID})
		return err
	})
}
