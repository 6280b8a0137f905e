package auth

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

var errBadRefresh = apperr.New(apperr.Unauthenticated, "invalid_refresh_token", "the refresh token is invalid, expired or revoked")

// RefreshTokens spends a refresh token and returns the next pair of its family.
//
// The token row and its family are locked, so concurrent refreshes of one token serialise. A
// token that was already rotated is either a client that lost the reply (within the grace
// window: the current child is returned again, encrypted copy kept for exactly that) or a
// stolen token being replayed: then the whole family is revoked, and that revocation commits
// although the request fails.
func (a *Accounts) RefreshTokens(ctx context.Context, refreshToken string) (TokenPair, error) {
	now := a.now()
	var (
		user     User
		audience string
		familyID uuid.UUID
		secret   string
		reused   bool
		in       signIn // the login's authentication, kept across refreshes
	)
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		tok, err := q.LockRefreshToken(ctx, hashSecret(refreshToken))
		if errors.Is(err, pgx.ErrNoRows) {
			return errBadRefresh
		} else if err != nil {
			return err
		}
		if tok.FamilyRevokedAt != nil || !now.Before(tok.ExpiresAt) {
			return errBadRefresh
		}
		familyID, audience = tok.FamilyID, tok.Audience
		fam, err := q.GetRefreshFamily(ctx, familyID)
		if err != nil {
			return err
		}
		// A bound family needs its key's proof before anything is spent or revoked.
		if ctx, err = familyDPoPKey(ctx, fam.DpopJkt); err != nil {
			return err
		}
		in = signIn{At: fam.AuthTime, AMR: fam.Amr}
		if tok.RotatedAt != nil {
			if secret, err = a.graceReplay(ctx, q, tok, now); err != nil {
				return err
			}
			if secret == "" {
				reused = true
				return a.revokeForReuse(ctx, q, tok, now)
			}
		} else if secret, err = a.rotate(ctx, q, tok, now); err != nil {
			return err
		}
		row, err := q.GetUser(ctx, tok.UserID)
		if err != nil {
			return err
		}
		if !row.IsActive {
			return errBadRefresh
		}
		user = userFromRow(row)
		return audit.Record(ctx, q, now, audit.Event{Action: audit.Refresh, Outcome: audit.Success, ActorID: user.ID, SubjectID: user.ID,
			Details: map[string]any{"family_id": familyID.String()}})
	})
	if err != nil {
		a.dpopRejected(ctx, err, uuid.Nil, "") // a bound family refreshed without its key
		return TokenPair{}, err
	}
	if reused {
		a.revoked.Mark(ctx, familyID)
		return TokenPair{}, errBadRefresh
	}
	return a.pair(ctx, user, familyID, audience, secret, in)
}

// rotate replaces tok with a new child token and returns the child's secret.
func (a *Accounts) rotate(ctx context.Context, q *db.Queries, tok db.LockRefreshTokenRow, now time.Time) (string, error) {
	secret := newSecret("ccr_")
	child, err := q.InsertRefreshToken(ctx, db.InsertRefreshTokenParams{
		FamilyID: tok.FamilyID, TokenHash: hashSecret(secret), Now: now, ExpiresAt: now.Add(a.set.RefreshTTL),
	})
	if err != nil {
		return "", err
	}
	sealed, err := a.childBox.Seal([]byte(secret), child.ID[:])
	if err != nil {
		return "", err
	}
	if err := q.MarkRefreshTokenRotated(ctx, db.MarkRefreshTokenRotatedParams{Now: &now, ChildID: &child.ID, ChildEnc: sealed, ID: tok.ID}); err != nil {
		return "", err
	}
	// tok's own parent no longer needs tok's secret.
	return secret, q.ForgetChildSecret(ctx, &tok.ID)
}

// graceReplay returns the current child's secret when tok was rotated within the grace window
// and its child is still the family's current token; "" otherwise.
func (a *Accounts) graceReplay(ctx context.Context, q *db.Queries, tok db.LockRefreshTokenRow, now time.Time) (string, error) {
	if tok.ChildID == nil || tok.ChildEnc == nil || now.Sub(*tok.RotatedAt) > a.set.RefreshGrace {
		return "", nil
	}
	child, err := q.GetRefreshToken(ctx, *tok.ChildID)
	if err != nil {
		return "", err
	}
	if child.RotatedAt != nil {
		return "", nil
	}
	secret, err := a.childBox.Open(tok.ChildEnc, child.ID[:])
	if err != nil {
		return "", err
	}
	return string(secret), nil
}

func (a *Accounts) revokeForReuse(ctx context.Context, q *db.Queries, tok db.LockRefreshTokenRow, now time.Time) error {
	reason := "refresh_token_reuse"
	if err := q.RevokeRefreshFamily(ctx, db.RevokeRefreshFamilyParams{Now: &now, Reason: &reason, ID: tok.FamilyID}); err != nil {
		return err
	}
	return audit.Record(ctx, q, now, audit.Event{Action: audit.RefreshReuse, Outcome: audit.Failure, SubjectID: tok.UserID,
		Details: map[string]any{"family_id": tok.FamilyID.String()}})
}

// Logout revokes the caller's refresh family and denylists the access token they used.
func (a *Accounts) Logout(ctx context.Context, p Principal) error {
	if p.FamilyID == uuid.Nil {
		return apperr.New(apperr.Invalid, "not_a_session", "API keys have no session; revoke the key instead")
	}
	now := a.now()
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		reason := "logout"
		if err := q.RevokeRefreshFamily(ctx, db.RevokeRefreshFamilyParams{Now: &now, Reason: &reason, ID: p.FamilyID}); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.Logout, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"family_id": p.FamilyID.String()}})
	})
	if err != nil {
		return err
	}
	a.revoked.Mark(ctx, p.FamilyID)
	a.revoked.DenyToken(ctx, p.TokenID, p.ExpiresAt.Sub(now))
	return nil
}

// revokeOtherFamilies ends every session of user except keep (zero: all) inside q's transaction
// and returns the ids to mark in the cache once it commits.
func revokeOtherFamilies(ctx context.Context, q *db.Queries, userID, keep uuid.UUID, reason string, now time.Time) ([]uuid.UUID, error) {
	var keepID *uuid.UUID
	if keep != uuid.Nil {
		keepID = &keep
	}
	return q.RevokeUserRefreshFamilies(ctx, db.RevokeUserRefreshFamiliesParams{Now: &now, Reason: &reason, UserID: userID, KeepID: keepID})
}
