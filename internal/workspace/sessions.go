package workspace

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/page"
)

// Session is a chat session with its running totals.
type Session struct {
	ID              uuid.UUID
	ProjectID       *uuid.UUID
	Title           *string
	Model           *string
	SystemPrompt    *string
	Status          string
	MessageCount    int64
	InputTokens     int64
	OutputTokens    int64
	TotalCost       float64
	FirstActivityAt *time.Time
	LastActivityAt  *time.Time
	Version         int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func sessionFromRow(r db.Session) Session {
	return Session{ID: r.ID, ProjectID: r.ProjectID, Title: r.Title, Model: r.Model, SystemPrompt: r.SystemPrompt, Status: r.Status,
		MessageCount: r.MessageCount, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, TotalCost: r.TotalCost,
		FirstActivityAt: r.FirstActivityAt, LastActivityAt: r.LastActivityAt, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// SessionFields are a new session's fields.
type SessionFields struct {
	ProjectID    *uuid.UUID
	Title        *string
	Model        *string
	SystemPrompt *string
}

// SessionPatch holds what a PATCH changes; Set* marks a nullable field that was sent.
type SessionPatch struct {
	ProjectID       *uuid.UUID
	SetProjectID    bool
	Title           *string
	SetTitle        bool
	Model           *string
	SetModel        bool
	SystemPrompt    *string
	SetSystemPrompt bool
	Status          *string
}

// SessionFilter narrows the session list.
type SessionFilter struct {
	ProjectID *uuid.UUID
	Status    *string
	Query     *string
}

// Totals are the user's sums over all sessions.
type Totals struct {
	ActiveSessions, TotalSessions, TotalMessages, TotalTokens int64
	TotalCost                                                 float64
}

// requireProject checks that a project the caller names is theirs (the foreign key alone would
// accept another user's project).
func requireProject(ctx context.Context, q *db.Queries, userID uuid.UUID, id *uuid.UUID) error {
	if id == nil {
		return nil
	}
	_, err := q.GetProject(ctx, db.GetProjectParams{ID: *id, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("project")
	}
	return err
}

// CreateSession starts a session, optionally in one of the user's projects.
func (s *Service) CreateSession(ctx context.Context, userID uuid.UUID, f SessionFields) (out Session, err error) {
	defer s.raise(ctx, &err, userID, events.SessionCreated, func() any { return sessionEvent(out) })
	err = s.store.InTx(ctx, func(q *db.Queries) error {
		if err := requireProject(ctx, q, userID, f.ProjectID); err != nil {
			return err
		}
		row, err := q.CreateSession(ctx, db.CreateSessionParams{UserID: userID, ProjectID: f.ProjectID, Title: f.Title, Model: f.Model,
			SystemPrompt: f.SystemPrompt, Now: s.now()})
		out = sessionFromRow(row)
		return err
	})
	return out, err
}

// GetSession returns one of the user's sessions.
func (s *Service) GetSession(ctx context.Context, userID, id uuid.UUID) (Session, error) {
	row, err := s.store.Queries().GetSession(ctx, db.GetSessionParams{ID: id, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, notFound("session")
	} else if err != nil {
		return Session{}, err
	}
	return sessionFromRow(row), nil
}

// ListSessions pages through the user's sessions, most recently active first.
func (s *Service) ListSessions(ctx context.Context, userID uuid.UUID, f SessionFilter, req page.Request) (page.Page[Session], error) {
	return page.Fetch(ctx, s.cursors, page.List[db.Session, page.TimeID]{
		Name: "sessions", Owner: userID, Filter: f,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.Session, error) {
			at, id := after.Split()
			return s.store.Reader(ctx, userID).ListSessions(ctx, db.ListSessionsParams{UserID: userID, ProjectID: f.ProjectID, Status: f.Status, Q: f.Query, BeforeActivity: at, BeforeID: id, MaxRows: limit})
		},
		Position: func(r db.Session) page.TimeID {
			if r.LastActivityAt != nil {
				return page.At(*r.LastActivityAt, r.ID)
			}
			return page.At(r.CreatedAt, r.ID)
		},
		Size: func(r db.Session) int {
			return page.ItemOverhead + page.TextLen(r.Title) + page.TextLen(r.Model) + page.TextLen(r.SystemPrompt)
		},
	}, req, sessionFromRow)
}

// UpdateSession renames, archives or moves a session.
func (s *Service) UpdateSession(ctx context.Context, userID, id uuid.UUID, p SessionPatch, expected *int64) (out Session, err error) {
	defer s.raise(ctx, &err, userID, events.SessionUpdated, func() any { return sessionEvent(out) })
	err = s.store.InTx(ctx, func(q *db.Queries) error {
		row, err := q.GetSessionForUpdate(ctx, db.GetSessionForUpdateParams{ID: id, UserID: userID})
		if err := checkLocked(err, "session", row.Version, expected); err != nil {
			return err
		}
		u := db.UpdateSessionParams{ProjectID: row.ProjectID, Title: row.Title, Model: row.Model, SystemPrompt: row.SystemPrompt,
			Status: row.Status, Now: s.now(), ID: id, UserID: userID, ExpectedVersion: &row.Version}
		if p.SetProjectID {
			if err := requireProject(ctx, q, userID, p.ProjectID); err != nil {
				return err
			}
			u.ProjectID = p.ProjectID
		}
		if p.SetTitle {
			u.Title = p.Title
		}
		if p.SetModel {
			u.Model = p.Model
		}
		if p.SetSystemPrompt {
			u.SystemPrompt = p.SystemPrompt
		}
		if p.Status != nil {
			u.Status = *p.Status
		}
		updated, err := q.UpdateSession(ctx, u)
		out = sessionFromRow(updated)
		return err
	})
	return out, err
}

// DeleteSession deletes a session and its messages.
func (s *Service) DeleteSession(ctx context.Context, userID, id uuid.UUID, expected *int64) (err error) {
	defer s.raise(ctx, &err, userID, events.SessionDeleted, func() any { return map[string]any{"session_id": id} })
	return s.store.InTx(ctx, func(q *db.Queries) error {
		row, err := q.GetSessionForUpdate(ctx, db.GetSessionForUpdateParams{ID: id, UserID: userID})
		if err := checkLocked(err, "session", row.Version, expected); err != nil {
			return err
		}
		_, err = q.DeleteSession(ctx, db.DeleteSessionParams{ID: id, UserID: userID})
		return err
	})
}

// GetSessionTotals sums the user's sessions.
func (s *Service) GetSessionTotals(ctx context.Context, userID uuid.UUID) (Totals, error) {
	r, err := s.store.Queries().SessionTotals(ctx, userID)
	if err != nil {
		return Totals{}, err
	}
	return Totals{ActiveSessions: r.ActiveSessions, TotalSessions: r.TotalSessions, TotalMessages: r.TotalMessages,
		TotalTokens: r.TotalTokens, TotalCost: r.TotalCost}, nil
}
