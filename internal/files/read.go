package files

import (
	"context"
	"errors"
	"io"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gocloud.dev/gcerrors"

	"github.com/ccbackend/ccbackend/gen/db"
)

// GetFile returns a file's metadata.
func (s *Service) GetFile(ctx context.Context, user, id uuid.UUID) (File, error) {
	row, err := s.store.Queries().GetFile(ctx, db.GetFileParams{ID: id, UserID: user})
	if err != nil {
		return File{}, notFoundIfMissing(err)
	}
	return FromRow(row), nil
}

// Open returns the stored file of user (NotFound for another user's or a missing id — same
// error), its metadata and a reader of its bytes; the caller closes the reader.
func (s *Service) Open(ctx context.Context, user uuid.UUID, id uuid.UUID) (File, io.ReadCloser, error) {
	row, err := s.store.Queries().GetFile(ctx, db.GetFileParams{ID: id, UserID: user})
	if err != nil {
		return File{}, nil, notFoundIfMissing(err)
	}
	r, err := s.openRange(ctx, row.BlobKey, 0, -1)
	if err != nil {
		return File{}, nil, err
	}
	return FromRow(row), r, nil
}

// Content is a file opened for serving: its metadata, and a function that reads a byte range
// (length -1: to the end) once the caller has decided which one.
type Content struct {
	File
	Read func(ctx context.Context, offset, length int64) (io.ReadCloser, error)
}

// GetFileContent opens user's file for serving.
func (s *Service) GetFileContent(ctx context.Context, user, id uuid.UUID) (Content, error) {
	row, err := s.store.Queries().GetFile(ctx, db.GetFileParams{ID: id, UserID: user})
	if err != nil {
		return Content{}, notFoundIfMissing(err)
	}
	return s.content(row), nil
}

func (s *Service) content(row db.File) Content {
	key := row.BlobKey
	return Content{File: FromRow(row), Read: func(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
		return s.openRange(ctx, key, offset, length)
	}}
}

func (s *Service) openRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	r, err := s.bucket.NewRangeReader(ctx, key, offset, length, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		// The row exists but the blob does not: the store lost it. Not the client's fault.
		return nil, errors.Join(errors.New("files: blob missing for a files row"), err)
	}
	return r, err
}

// Usage is a user's storage use.
type Usage struct {
	UsedBytes, QuotaBytes, FileCount int64
}

// GetFileUsage returns the bytes of the user's complete files, the quota and the file count.
func (s *Service) GetFileUsage(ctx context.Context, user uuid.UUID) (Usage, error) {
	u, err := s.store.Queries().GetFileUsage(ctx, user)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Usage{}, err
	}
	return Usage{UsedBytes: u.UsedBytes, QuotaBytes: s.set.QuotaBytes, FileCount: u.FileCount}, nil
}
