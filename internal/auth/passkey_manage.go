package auth

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/page"
)

var errNoPasskey = apperr.New(apperr.NotFound, "not_found", "no such passkey")

// ListPasskeys pages through the caller's passkeys, oldest first.
func (p *Passkeys) ListPasskeys(ctx context.Context, pr Principal, cursors *page.Cursors, req page.Request) (page.Page[Passkey], error) {
	return page.Fetch(ctx, cursors, page.List[db.Passkey, page.TimeID]{
		Name: "passkeys", Owner: pr.UserID,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.Passkey, error) {
			at, id := after.Split()
			return p.accounts.store.Queries().ListPasskeysPage(ctx, db.ListPasskeysPageParams{UserID: pr.UserID, AfterCreated: at, AfterID: id, MaxRows: limit})
		},
		Position: func(r db.Passkey) page.TimeID { return page.At(r.CreatedAt, r.ID) },
	}, req, passkeyFromRow)
}

// RenamePasskey renames one of the caller's passkeys; another user's is "not found".
func (p *Passkeys) RenamePasskey(ctx context.Context, pr Principal, id uuid.UUID, name string) (Passkey, error) {
	now := p.accounts.now()
	var row db.Passkey
	err := p.accounts.store.InTx(ctx, func(q *db.Queries) error {
		var err error
		row, err = q.RenamePasskey(ctx, db.RenamePasskeyParams{Name: name, ID: id, UserID: pr.UserID})
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoPasskey
		} else if err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.PasskeyRename, Outcome: audit.Success, ActorID: pr.UserID, SubjectID: pr.UserID,
			Details: map[string]any{"passkey_id": id.String(), "name": name}})
	})
	return passkeyFromRow(row), err
}

// DeletePasskey removes one of the caller's passkeys: it stops signing in at once.
func (p *Passkeys) DeletePasskey(ctx context.Context, pr Principal, id uuid.UUID) error {
	now := p.accounts.now()
	return p.accounts.store.InTx(ctx, func(q *db.Queries) error {
		n, err := q.DeletePasskey(ctx, db.DeletePasskeyParams{ID: id, UserID: pr.UserID})
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoPasskey
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.PasskeyDelete, Outcome: audit.Success, ActorID: pr.UserID, SubjectID: pr.UserID,
			Details: map[string]any{"passkey_id": id.String()}})
	})
}

// CountPasskeys is how many passkeys the user holds (an MFA method when at least one).
func (p *Passkeys) CountPasskeys(ctx context.Context, userID uuid.UUID) (int64, error) {
	return p.accounts.store.Queries().CountUserPasskeys(ctx, userID)
}
