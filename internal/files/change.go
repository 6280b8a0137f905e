package files

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/events"
)

var errStale = apperr.New(apperr.PreconditionFailed, "precondition_failed", "the file changed since the ETag in If-Match; fetch it again")

// UpdateFile moves (renames) a file to path; expected is the If-Match version (nil: any).
func (s *Service) UpdateFile(ctx context.Context, user, id uuid.UUID, path string, expected *int64) (File, error) {
	p, err := NormalizePath(path)
	if err != nil {
		return File{}, invalidPath(err, apperr.InBody, "/path")
	}
	var row db.File
	err = s.store.InTx(ctx, func(q *db.Queries) error {
		cur, err := q.GetFileForUpdate(ctx, db.GetFileForUpdateParams{ID: id, UserID: user})
		if err != nil {
			return notFoundIfMissing(err)
		}
		if expected != nil && *expected != cur.Version {
			return errStale
		}
		row, err = q.MoveFile(ctx, db.MoveFileParams{ID: id, UserID: user, Path: &p, Name: p[lastSlash(p)+1:], Now: s.now()})
		return pathTaken(err)
	})
	if err != nil {
		return File{}, err
	}
	return FromRow(row), nil
}

// DeleteFile deletes a file: the row at once (its trigger queues the blob in the same
// transaction), then the blob (what fails here, the sweep finishes).
func (s *Service) DeleteFile(ctx context.Context, user, id uuid.UUID, expected *int64) (err error) {
	var key string
	gone := File{ID: id}
	defer s.raise(ctx, &err, user, events.FileDeleted, &gone)
	err = s.store.InTx(ctx, func(q *db.Queries) error {
		cur, err := q.GetFileForUpdate(ctx, db.GetFileForUpdateParams{ID: id, UserID: user})
		if err != nil {
			return notFoundIfMissing(err)
		}
		if expected != nil && *expected != cur.Version {
			return errStale
		}
		key, gone = cur.BlobKey, FromRow(cur)
		n, err := q.DeleteFile(ctx, db.DeleteFileParams{ID: id, UserID: user})
		if err == nil && n == 0 {
			err = pgx.ErrNoRows
		}
		return notFoundIfMissing(err)
	})
	if err != nil {
		return err
	}
	s.deleteBlob(context.WithoutCancel(ctx), key)
	return nil
}
