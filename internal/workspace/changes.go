package workspace

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/files"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/periodic"
)

// Change is one entry of the sync feed: the current state of an entity, or its tombstone.
type Change struct {
	Seq       int64
	Entity    string // project | session | message | file
	ID        uuid.UUID
	Deleted   bool
	ChangedAt time.Time
	Project   *Project
	Session   *Session
	Message   *Message
	File      *files.File
}

type syncPosition struct {
	Seq int64 `json:"s"`
}

// GetChanges returns the user's changes after cursor (from the start when empty) in commit order,
// and the cursor to continue from. All reads share one snapshot, so each upsert carries the
// entity as of the feed's position.
func (s *Service) GetChanges(ctx context.Context, userID uuid.UUID, limit int, cursor string) (changes []Change, next string, more bool, err error) {
	scope := "sync:" + userID.String()
	var after int64
	if cursor != "" {
		var pos syncPosition
		if err := s.cursors.Decode(scope, cursor, &pos); err != nil {
			return nil, "", false, err
		}
		after = pos.Seq
	}
	var out []Change
	err = s.store.InSnapshot(ctx, func(q *db.Queries) error {
		state, err := q.SyncState(ctx, userID)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Without a cursor the feed starts over; only a stored cursor can fall behind the purge.
		if cursor != "" && after < state.PurgedSeq {
			return apperr.New(apperr.Gone, "cursor_expired", "the cursor is older than the retained history; sync again without a cursor")
		}
		rows, err := q.ListChanges(ctx, db.ListChangesParams{UserID: userID, AfterSeq: after, MaxRows: int32(limit + 1)})
		if err != nil {
			return err
		}
		rows, more = page.Trim(rows, limit)
		out, err = s.hydrate(ctx, q, userID, rows)
		return err
	})
	if err != nil {
		return nil, "", false, err
	}
	if len(out) > 0 {
		after = out[len(out)-1].Seq
	}
	return out, s.cursors.Encode(scope, syncPosition{after}), more, nil
}

// hydrate attaches the current rows to the upserts (one query per entity kind on the page,
// not one per row).
func (s *Service) hydrate(ctx context.Context, q *db.Queries, userID uuid.UUID, rows []db.ListChangesRow) ([]Change, error) {
	ids := map[string][]uuid.UUID{}
	for _, r := range rows {
		if !r.Deleted {
			ids[r.Entity] = append(ids[r.Entity], r.EntityID)
		}
	}
	projects, sessions, messages := map[uuid.UUID]Project{}, map[uuid.UUID]Session{}, map[uuid.UUID]Message{}
	if len(ids["project"]) > 0 {
		ps, err := q.ProjectsByID(ctx, db.ProjectsByIDParams{UserID: userID, Ids: ids["project"]})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			projects[p.ID] = projectFromRow(p)
		}
	}
	if len(ids["session"]) > 0 {
		ss, err := q.SessionsByID(ctx, db.SessionsByIDParams{UserID: userID, Ids: ids["session"]})
		if err != nil {
			return nil, err
		}
		for _, x := range ss {
			sessions[x.ID] = sessionFromRow(x)
		}
	}
	if len(ids["message"]) > 0 {
		ms, err := q.MessagesByID(ctx, db.MessagesByIDParams{UserID: userID, Ids: ids["message"]})
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			messages[m.ID] = messageFromRow(m)
		}
	}
	fileRows := map[uuid.UUID]files.File{}
	if len(ids["file"]) > 0 {
		fs, err := q.FilesByID(ctx, db.FilesByIDParams{UserID: userID, Ids: ids["file"]})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			fileRows[f.ID] = files.FromRow(f)
		}
	}
	out := make([]Change, len(rows))
	for i, r := range rows {
		c := Change{Seq: r.Seq, Entity: r.Entity, ID: r.EntityID, Deleted: r.Deleted, ChangedAt: r.ChangedAt}
		if !r.Deleted {
			switch r.Entity {
			case "project":
				p := projects[r.EntityID]
				c.Project = &p
			case "session":
				x := sessions[r.EntityID]
				c.Session = &x
			case "message":
				m := messages[r.EntityID]
				c.Message = &m
			case "file":
				f := fileRows[r.EntityID]
				c.File = &f
			}
		}
		out[i] = c
	}
	return out, nil
}

// PurgeTombstones drops deletions older than the retention; cursors from before them get 410.
func (s *Service) PurgeTombstones(ctx context.Context) error {
	return s.store.Queries().PurgeTombstones(ctx, s.now().Add(-s.syncRetention))
}

// RunPurge purges tombstones every interval until ctx ends.
func (s *Service) RunPurge(ctx context.Context, every time.Duration, log *slog.Logger) {
	periodic.Every(ctx, every, log, "sync tombstones: purge", s.PurgeTombstones)
}
