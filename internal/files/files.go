// Package files stores the users' files: bytes in a blob store (gocloud.dev/blob: a local
// directory or any S3-compatible store) under opaque keys, metadata in PostgreSQL. A files row
// exists only once its blob is complete; uploads in flight are file_uploads rows that reserve
// quota as bytes arrive; every row that disappears queues its blob for deletion, which the
// sweep drains. Another user's file is indistinguishable from a missing one (NotFound).
package files

import (
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gocloud.dev/blob"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// File is a stored file's metadata.
type File struct {
	ID          uuid.UUID
	Name        string
	Path        string // "" for a loose file (in no tree)
	ProjectID   *uuid.UUID
	Size        int64
	ContentType string // sniffed from the bytes
	SHA256      string // hex
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Settings are the limits of the service.
type Settings struct {
	MaxFileBytes int64         // one file
	QuotaBytes   int64         // all of one user's files plus uploads in flight
	UploadStale  time.Duration // an upload untouched this long belongs to a dead server
	ReserveStep  int64         // quota is reserved in steps of this many bytes (fewer round trips)
}

// Service is the files service.
type Service struct {
	store   *store.Store
	bucket  *blob.Bucket
	presign bool // the store signs download URLs itself (S3); else this server's HMAC URLs
	cursors *page.Cursors
	now     func() time.Time
	signKey []byte
	set     Settings
	log     *slog.Logger
	events  events.Publisher // nil: no events (see WithEvents)
}

// New returns the files service. b is the opened blob store (see OpenBucket); presign says
// whether it issues its own signed URLs.
func New(st *store.Store, b *blob.Bucket, presign bool, cursors *page.Cursors, now func() time.Time, signKey []byte, set Settings, log *slog.Logger) *Service {
	if set.ReserveStep <= 0 {
		set.ReserveStep = 1 << 20
	}
	return &Service{store: st, bucket: b, presign: presign, cursors: cursors, now: now, signKey: signKey, set: set, log: log}
}

// Quota returns the per-user quota in bytes.
func (s *Service) Quota() int64 { return s.set.QuotaBytes }

var errNotFound = apperr.New(apperr.NotFound, "not_found", "no such file")

// FromRow converts a files row (for the sync feed, which hydrates rows itself).
func FromRow(r db.File) File {
	f := File{ID: r.ID, Name: r.Name, ProjectID: r.ProjectID, Size: r.Size, ContentType: r.ContentType,
		SHA256: r.Sha256, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Path != nil {
		f.Path = *r.Path
	}
	return f
}

// notFoundIfMissing turns "no row" into the one NotFound answer.
func notFoundIfMissing(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotFound
	}
	return err
}

// Close releases the blob store.
func (s *Service) Close() error { return s.bucket.Close() }
