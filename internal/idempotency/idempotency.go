// Package idempotency remembers the responses of creating requests by their Idempotency-Key, so a
// client that lost a reply can retry and get the same answer instead of creating twice.
//
// A key is claimed in PostgreSQL before the request runs (the primary key (owner, key) settles
// races between replicas), completed with the response once it is known, and released when the
// request failed in a way the client may retry. Stored bodies are encrypted: a replayed create
// can carry a secret (an API key's) that must not sit in the database in the clear.
package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/periodic"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Retention is how long a key is remembered; an older claim counts as absent.
const Retention = 24 * time.Hour

// ResponsesPurpose names the key (derived from CCB_SECRET_KEY) that encrypts stored bodies.
const ResponsesPurpose = "idempotent-responses"

// claimAttempts bounds the retries when the row changes between the statements of a claim.
const claimAttempts = 3

// ErrClaimLost means a claim was no longer in progress when it was completed or released: it had
// expired and another request took the key over, or it was purged.
var ErrClaimLost = errors.New("idempotency: the claim is no longer held")

// Kind is what the caller of Claim should do.
type Kind int

func (k Kind) String() string {
	switch k {
	case Proceed:
		return "proceed"
	case Replay:
		return "replay"
	case Mismatch:
		return "mismatch"
	case InProgress:
		return "in progress"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// The outcomes of a claim.
const (
	// Proceed: the key is the caller's; run the request, then Complete or Release the claim.
	Proceed Kind = iota + 1
	// Replay: the key already answered this request; send Outcome.Response again.
	Replay
	// Mismatch: the key was used for a different request.
	Mismatch
	// InProgress: the key's first request is still running.
	InProgress
)

// Response is the part of a response that a replay repeats.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Subject is the resource the request made (e.g. an API key), so that ending the resource
	// can drop this response; uuid.Nil when there is none. Not replayed.
	Subject uuid.UUID
}

// Claim identifies one claim of a key; only its holder can complete or release it.
type Claim struct {
	Owner uuid.UUID
	Key   string
	at    time.Time // created_at of the claim row, as PostgreSQL stored it
}

// Outcome is the answer to Claim: Claim is set for Proceed, Response for Replay.
type Outcome struct {
	Kind     Kind
	Claim    Claim
	Response Response
}

// Store keeps idempotency keys in PostgreSQL.
type Store struct {
	st  *store.Store
	box *secret.Box // seals response bodies; see ResponsesPurpose
	log *slog.Logger
}

// New returns the store; box encrypts the stored bodies, log receives the purge loop's failures.
func New(st *store.Store, box *secret.Box, log *slog.Logger) *Store {
	return &Store{st: st, box: box, log: log}
}

// Claim takes key for owner's request (method, route, requestHash), or reports what the key
// already holds. Claims older than Retention are treated as absent and taken over.
func (s *Store) Claim(ctx context.Context, owner uuid.UUID, key, method, route string, requestHash []byte, now time.Time) (Outcome, error) {
	q := s.st.Queries()
	for range claimAttempts {
		at, err := q.ClaimIdempotencyKey(ctx, db.ClaimIdempotencyKeyParams{
			Owner: owner, Key: key, Method: method, Route: route, RequestHash: requestHash, Now: now,
		})
		if err == nil {
			return Outcome{Kind: Proceed, Claim: Claim{Owner: owner, Key: key, at: at}}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return Outcome{}, store.MapError(fmt.Errorf("idempotency: claim: %w", err))
		}
		row, err := q.GetIdempotencyKey(ctx, db.GetIdempotencyKeyParams{Owner: owner, Key: key})
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released between the two statements: claim again
		}
		if err != nil {
			return Outcome{}, store.MapError(fmt.Errorf("idempotency: read claim: %w", err))
		}
		if expiredBefore := now.Add(-Retention); row.CreatedAt.Before(expiredBefore) {
			at, err := q.ReplaceExpiredIdempotencyKey(ctx, db.ReplaceExpiredIdempotencyKeyParams{
				Owner: owner, Key: key, Method: method, Route: route, RequestHash: requestHash, Now: now,
				ExpiredBefore: expiredBefore,
			})
			if err == nil {
				return Outcome{Kind: Proceed, Claim: Claim{Owner: owner, Key: key, at: at}}, nil
			}
			if errors.Is(err, pgx.ErrNoRows) {
				continue // another request took it over (or it was purged) first
			}
			return Outcome{}, store.MapError(fmt.Errorf("idempotency: take over expired claim: %w", err))
		}
		return s.existing(row, method, route, requestHash)
	}
	// The row kept changing under us: another request is busy with this key.
	return Outcome{Kind: InProgress}, nil
}

// existing says what a live claim means for a request.
func (s *Store) existing(row db.IdempotencyKey, method, route string, requestHash []byte) (Outcome, error) {
	if row.Method != method || row.Route != route || !bytes.Equal(row.RequestHash, requestHash) {
		return Outcome{Kind: Mismatch}, nil
	}
	if row.Status == nil {
		return Outcome{Kind: InProgress}, nil
	}
	body, err := s.box.Open(row.ResponseBody, bodyAAD(row.Owner, row.Key))
	if err != nil {
		return Outcome{}, fmt.Errorf("idempotency: stored body: %w", err)
	}
	resp := Response{Status: int(*row.Status), Header: http.Header{}, Body: body}
	if len(row.ResponseHeaders) > 0 {
		if err := json.Unmarshal(row.ResponseHeaders, &resp.Header); err != nil {
			return Outcome{}, fmt.Errorf("idempotency: stored headers: %w", err)
		}
	}
	if resp.Body == nil {
		resp.Body = []byte{}
	}
	return Outcome{Kind: Replay, Response: resp}, nil
}

// bodyAAD binds a sealed body to its row: copied under another owner or key, it does not open.
func bodyAAD(owner uuid.UUID, key string) []byte {
	return append(owner[:len(owner):len(owner)], key...)
}

// Complete stores the response of c's request for replays.
func (s *Store) Complete(ctx context.Context, c Claim, resp Response) error {
	header := resp.Header
	if header == nil {
		header = http.Header{}
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("idempotency: encode headers: %w", err)
	}
	body, err := s.box.Seal(resp.Body, bodyAAD(c.Owner, c.Key))
	if err != nil {
		return fmt.Errorf("idempotency: seal body: %w", err)
	}
	var subject *uuid.UUID
	if resp.Subject != uuid.Nil {
		subject = &resp.Subject
	}
	n, err := s.st.Queries().CompleteIdempotencyKey(ctx, db.CompleteIdempotencyKeyParams{
		Status: int32(resp.Status), ResponseHeaders: hb, ResponseBody: body, SubjectID: subject,
		Owner: c.Owner, Key: c.Key, ClaimedAt: c.at,
	})
	if err != nil {
		return store.MapError(fmt.Errorf("idempotency: complete: %w", err))
	}
	if n == 0 {
		return ErrClaimLost
	}
	return nil
}

// Release gives c's key up so that the client may retry the request.
func (s *Store) Release(ctx context.Context, c Claim) error {
	n, err := s.st.Queries().ReleaseIdempotencyKey(ctx, db.ReleaseIdempotencyKeyParams{Owner: c.Owner, Key: c.Key, ClaimedAt: c.at})
	if err != nil {
		return store.MapError(fmt.Errorf("idempotency: release: %w", err))
	}
	if n == 0 {
		return ErrClaimLost
	}
	return nil
}

// Purge deletes the keys claimed before before and returns how many went.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.st.Queries().PurgeIdempotencyKeys(ctx, before)
	if err != nil {
		return 0, store.MapError(fmt.Errorf("idempotency: purge: %w", err))
	}
	return n, nil
}

// RunPurge deletes expired keys every interval until ctx ends. Every replica may run it: the
// deletes are idempotent.
func (s *Store) RunPurge(ctx context.Context, every time.Duration, now func() time.Time) {
	periodic.Every(ctx, every, s.log, "idempotency: purge", func(ctx context.Context) error {
		_, err := s.Purge(ctx, now().Add(-Retention))
		return err
	})
}
