package files

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Part is one part of an upload, in the order the client sent it: a field (project_id, path,
// filename) or the file's bytes.
type Part struct {
	Field    string    // a field's name; "" for the file part
	Value    string    // a field's value
	File     io.Reader // the file's bytes (the file part)
	FileName string    // the name the client gave the file part, if any
}

// Parts yields an upload's parts; io.EOF ends them.
type Parts interface {
	Next() (Part, error)
}

// UploadFields are the fields given outside the parts (query parameters); a field part
// overrides its parameter.
type UploadFields struct {
	Name      string
	Path      string
	ProjectID *uuid.UUID
}

// settleTimeout bounds the cleanup of a failed upload, which runs even after the client left.
const settleTimeout = 10 * time.Second

// UploadFile streams the file part of parts into the blob store, then records the file. The
// upload is a file_uploads row from before the first byte until the files row replaces it; a
// failure (a refused size, the quota, a clash, a client that went away) aborts the blob write
// and ends the upload row, which releases its reservation and queues whatever blob exists.
func (s *Service) UploadFile(ctx context.Context, user uuid.UUID, fields UploadFields, parts Parts) (f File, err error) {
	defer s.raise(ctx, &err, user, events.FileCreated, &f)
	up := uuid.New()
	key := "f/" + uuid.NewString()
	if err := s.store.InTx(ctx, func(q *db.Queries) error {
		if err := q.EnsureFileUsage(ctx, user); err != nil {
			return err
		}
		return q.StartUpload(ctx, db.StartUploadParams{ID: up, UserID: user, BlobKey: key, Now: s.now()})
	}); err != nil {
		return File{}, err
	}
	f, err = s.receive(ctx, user, up, key, fields, parts)
	if err != nil {
		s.endUpload(ctx, up, key)
	}
	return f, err
}

func (s *Service) receive(ctx context.Context, user, up uuid.UUID, key string, fields UploadFields, parts Parts) (File, error) {
	var m *meter
	for {
		p, err := parts.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return File{}, err
		}
		if p.File == nil {
			if err := fields.set(p.Field, p.Value); err != nil {
				return File{}, err
			}
			continue
		}
		if m != nil {
			return File{}, apperr.New(apperr.Invalid, "validation_failed", "only one file part is allowed").
				WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/file", Detail: "only one file part is allowed"})
		}
		if fields.Name == "" {
			fields.Name = p.FileName
		}
		if m, err = s.store1(ctx, user, up, key, p.File); err != nil {
			return File{}, err
		}
	}
	if m == nil {
		return File{}, apperr.New(apperr.Invalid, "validation_failed", "the file part is missing").
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/file", Detail: "the file part is missing"})
	}
	return s.commit(ctx, user, up, key, fields, m)
}

// The S3 multipart shape of an upload (see store1).
const (
	uploadPartBytes     = 5 << 20 // S3's minimum part size
	uploadPartsInFlight = 2
)

// store1 writes one stream to the blob under key; on any failure the write is aborted by
// cancelling its context, so the store keeps nothing.
func (s *Service) store1(ctx context.Context, user, up uuid.UUID, key string, src io.Reader) (*meter, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: "application/octet-stream", DisableContentTypeDetection: true,
		// An S3 multipart upload holds about (concurrency + 1) parts in memory per upload: the
		// smallest part S3 allows and two in flight keep a 1 GiB upload's growth near 20 MiB
		// (the SDK's defaults held ~75 MiB). Stores without parts ignore both.
		BufferSize: uploadPartBytes, MaxConcurrency: uploadPartsInFlight})
	if err != nil {
		return nil, err
	}
	m := newMeter(ctx, s, user, up, w)
	if _, err := io.Copy(m, src); err != nil {
		cancel()
		_ = w.Close()
		if ctx.Err() != nil {
			return nil, apperr.Wrap(err, apperr.Invalid, "upload_cancelled", "the upload was cancelled")
		}
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return m, nil
}

// commit records the file in the same transaction that ends its upload row.
func (s *Service) commit(ctx context.Context, user, up uuid.UUID, key string, fields UploadFields, m *meter) (File, error) {
	path, name, err := fields.normalize()
	if err != nil {
		return File{}, err
	}
	var row db.File
	err = s.store.InTx(ctx, func(q *db.Queries) error {
		if fields.ProjectID != nil {
			if _, err := q.GetProject(ctx, db.GetProjectParams{ID: *fields.ProjectID, UserID: user}); err != nil {
				return notFoundIfMissing(err)
			}
		}
		var err error
		row, err = q.InsertFile(ctx, db.InsertFileParams{UserID: user, ProjectID: fields.ProjectID, Path: path, Name: name, BlobKey: key,
			Size: m.n, ContentType: m.contentType(), Sha256: m.sha256(), Now: s.now()})
		if err != nil {
			return pathTaken(err)
		}
		return q.EndUpload(ctx, up)
	})
	if err != nil {
		return File{}, err
	}
	return FromRow(row), nil
}

// pathTaken names a unique violation of the tree's path index.
func pathTaken(err error) error {
	if apperr.KindOf(store.MapError(err)) == apperr.Conflict {
		return apperr.Wrap(err, apperr.Conflict, "path_taken", "a file with this path already exists").
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/path", Detail: "a file with this path already exists"})
	}
	return err
}

// endUpload removes a failed upload's row (releasing its reservation and queuing its key) and
// then the blob, if any survived the abort. It runs even when the request's context is gone;
// what it cannot finish, the sweep does.
func (s *Service) endUpload(ctx context.Context, up uuid.UUID, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := s.store.Queries().EndUpload(ctx, up); err != nil {
		s.log.Warn("files: ending a failed upload", slog.String("error", err.Error()))
		return
	}
	s.deleteBlob(ctx, key)
}

func (f *UploadFields) set(name, value string) error {
	switch name {
	case "path":
		f.Path = value
	case "filename":
		f.Name = value
	case "project_id":
		id, err := uuid.Parse(value)
		if err != nil {
			return apperr.New(apperr.Invalid, "validation_failed", "project_id is not a UUID").
				WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/project_id", Detail: "is not a UUID"})
		}
		f.ProjectID = &id
	}
	return nil
}

// normalize returns the stored path (nil for a loose file) and name.
func (f UploadFields) normalize() (*string, string, error) {
	var path *string
	name := f.Name
	if f.Path != "" {
		p, err := NormalizePath(f.Path)
		if err != nil {
			return nil, "", invalidPath(err, apperr.InBody, "/path")
		}
		path = &p
		name = p[lastSlash(p)+1:]
	}
	if name == "" {
		return nil, "", apperr.New(apperr.Invalid, "validation_failed", "the file needs a name: a filename or a path").
			WithFields(apperr.FieldError{Location: apperr.InQuery, Pointer: "filename", Detail: "a filename or a path is required"})
	}
	n, err := NormalizeName(name)
	if err != nil {
		return nil, "", invalidPath(err, apperr.InQuery, "filename")
	}
	return path, n, nil
}

func lastSlash(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return i
		}
	}
	return -1
}
