// Package workspace holds what a user works in: projects, chat sessions and their messages, and
// the change feed that keeps offline clients in step. Everything is owned by one user; another
// user's resource is indistinguishable from a missing one (NotFound).
package workspace

import (
	"log/slog"

	"encoding/json"
	"errors"
	"github.com/ccbackend/ccbackend/internal/events"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Service is the workspace service; each public method is one transaction.
type Service struct {
	store           *store.Store
	cursors         *page.Cursors
	now             func() time.Time
	maxMessageBytes int
	syncRetention   time.Duration
	events          events.Publisher // nil: no events (see WithEvents)
	log             *slog.Logger
}

// New returns the workspace service.
func New(st *store.Store, cursors *page.Cursors, now func() time.Time, maxMessageBytes int64, syncRetention time.Duration) *Service {
	return &Service{store: st, cursors: cursors, now: now, maxMessageBytes: int(maxMessageBytes), syncRetention: syncRetention}
}

var errStale = apperr.New(apperr.PreconditionFailed, "precondition_failed", "the resource changed since the ETag in If-Match; fetch it again")

// checkLocked turns the result of locking a row for a change into the client's answer: missing
// (or someone else's) is NotFound, a version other than the expected one (the caller's
// precondition, nil for none) is PreconditionFailed.
func checkLocked(err error, what string, version int64, expected *int64) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return notFound(what)
	case err != nil:
		return err
	case expected != nil && *expected != version:
		return errStale
	}
	return nil
}

// object decodes a jsonb column into a map (always a JSON object). The empty object, what most
// rows hold, skips the decoder: a list page converts one per row.
func object(raw []byte) map[string]any {
	m := map[string]any{}
	if string(raw) != "{}" {
		_ = json.Unmarshal(raw, &m)
	}
	return m
}

// encodeObject encodes a client object for a jsonb column; nil becomes {}.
func encodeObject(m map[string]any) ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(m)
}

func notFound(what string) error {
	return apperr.New(apperr.NotFound, "not_found", "no such "+what)
}
