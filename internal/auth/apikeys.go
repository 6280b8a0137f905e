package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// apiKeyPrefixLen is how much of a secret stays visible, so users can tell keys apart.
const apiKeyPrefixLen = 12

// APIKey is a key as its owner sees it (never the secret, except once at creation or rotation).
type APIKey struct {
	ID                 uuid.UUID
	Name               string
	Prefix             string
	CreatedAt          time.Time
	ExpiresAt          *time.Time
	LastUsedAt         *time.Time
	PreviousValidUntil *time.Time
}

func apiKeyFromRow(k db.ApiKey) APIKey {
	return APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
		LastUsedAt: k.LastUsedAt, PreviousValidUntil: k.PreviousValidUntil}
}

var errNoAPIKey = apperr.New(apperr.NotFound, "not_found", "no such API key")

// CreateAPIKey creates a key for the caller and returns it with its secret.
func (a *Accounts) CreateAPIKey(ctx context.Context, p Principal, name string, expiresAt *time.Time) (APIKey, string, error) {
	now := a.now()
	if expiresAt != nil && !expiresAt.After(now) {
		return APIKey{}, "", apperr.New(apperr.Invalid, "validation_failed", "expires_at must be in the future").
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/expires_at", Detail: "must be in the future"})
	}
	secret := newSecret("ccb_")
	var key db.ApiKey
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		if err := a.checkKeyCap(ctx, q, p.UserID, now); err != nil {
			return err
		}
		var err error
		key, err = q.CreateAPIKey(ctx, db.CreateAPIKeyParams{UserID: p.UserID, Name: name, Prefix: secret[:apiKeyPrefixLen],
			KeyHash: hashSecret(secret), ExpiresAt: expiresAt, Now: now})
		if err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.APIKeyCreate, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"api_key_id": key.ID.String(), "name": name}})
	})
	return apiKeyFromRow(key), secret, err
}

// checkKeyCap refuses a key beyond the per-user cap. Each key has its own request budget, so
// without a cap one user could multiply their limit by making keys. The user row is locked
// first, so concurrent creates of one user count one after another and cannot overshoot.
func (a *Accounts) checkKeyCap(ctx context.Context, q *db.Queries, userID uuid.UUID, now time.Time) error {
	if a.set.MaxAPIKeysPerUser <= 0 {
		return nil
	}
	if _, err := q.GetUserForUpdate(ctx, userID); err != nil {
		return err
	}
	n, err := q.CountActiveAPIKeys(ctx, db.CountActiveAPIKeysParams{UserID: userID, Now: &now})
	if err != nil {
		return err
	}
	if n >= int64(a.set.MaxAPIKeysPerUser) {
		return apperr.New(apperr.Conflict, "api_key_limit_reached",
			fmt.Sprintf("a user may hold at most %d working API keys; revoke one first", a.set.MaxAPIKeysPerUser))
	}
	return nil
}

// ListAPIKeys pages through the caller's live keys, oldest first.
func (a *Accounts) ListAPIKeys(ctx context.Context, p Principal, cursors *page.Cursors, req page.Request) (page.Page[APIKey], error) {
	a.apiKeys.touches.flush(ctx) // the owner sees the uses this instance has queued
	return page.Fetch(ctx, cursors, page.List[db.ApiKey, page.TimeID]{
		Name: "api_keys", Owner: p.UserID,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.ApiKey, error) {
			at, id := after.Split()
			return a.store.Queries().ListAPIKeys(ctx, db.ListAPIKeysParams{UserID: p.UserID, AfterCreated: at, AfterID: id, MaxRows: limit})
		},
		Position: func(r db.ApiKey) page.TimeID { return page.At(r.CreatedAt, r.ID) },
	}, req, apiKeyFromRow)
}

// RevokeAPIKey ends one of the caller's keys at once; another user's key is "not found".
func (a *Accounts) RevokeAPIKey(ctx context.Context, p Principal, id uuid.UUID) error {
	now := a.now()
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		n, err := q.RevokeAPIKey(ctx, db.RevokeAPIKeyParams{Now: &now, ID: id, UserID: p.UserID})
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoAPIKey
		}
		if err := q.ForgetAPIKeyResponses(ctx, db.ForgetAPIKeyResponsesParams{UserID: p.UserID, Ids: []uuid.UUID{id}}); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.APIKeyRevoke, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"api_key_id": id.String()}})
	})
	if err == nil {
		a.apiKeys.revoked(ctx, []uuid.UUID{id}, nil)
	}
	return err
}

// RotateAPIKey gives a key a new secret; the old one keeps working for the configured grace.
func (a *Accounts) RotateAPIKey(ctx context.Context, p Principal, id uuid.UUID) (APIKey, string, error) {
	now := a.now()
	secret := newSecret("ccb_")
	var graceUntil *time.Time
	if a.set.APIKeyRotateGrace > 0 {
		t := now.Add(a.set.APIKeyRotateGrace)
		graceUntil = &t
	}
	var key db.ApiKey
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		var err error
		key, err = q.RotateAPIKey(ctx, db.RotateAPIKeyParams{GraceUntil: graceUntil, KeyHash: hashSecret(secret),
			Prefix: secret[:apiKeyPrefixLen], ID: id, UserID: p.UserID})
		if err != nil {
			if apperr.KindOf(store.MapError(err)) == apperr.NotFound {
				return errNoAPIKey
			}
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.APIKeyRotate, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"api_key_id": id.String(), "grace_seconds": int(a.set.APIKeyRotateGrace.Seconds())}})
	})
	if err == nil { // the old secret's entry would outlive its grace (or its immediate end)
		a.apiKeys.revoked(ctx, []uuid.UUID{id}, nil)
	}
	return apiKeyFromRow(key), secret, err
}
