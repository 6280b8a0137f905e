package auth

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// LoginResult is what a password sign-in returns: the token pair, or (the account has MFA) the
// pending second step and no tokens.
type LoginResult struct {
	Tokens TokenPair
	MFA    *MFAPending
}

// MFAPending is a password sign-in waiting for its second factor.
type MFAPending struct {
	Token     string   // the mfa_token: single use, MFATokenTTL
	Methods   []string // what can complete it: totp, recovery_code, passkey
	ExpiresIn int      // seconds
}

var errBadMFAToken = apperr.New(apperr.Unauthenticated, "invalid_mfa_token", "the MFA token is invalid, expired or already used")

// startMFALogin records the pending sign-in of row (the password was right) and audits it. The
// account's failure counter is NOT cleared: only a completed second step clears it, so that
// signing in again with the password does not buy more guesses at the code.
func (a *Accounts) startMFALogin(ctx context.Context, row db.User, audience string, methods []string, now time.Time) (MFAPending, error) {
	token := newSecret("ccm_")
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		if err := q.PurgeMFALogins(ctx, db.PurgeMFALoginsParams{UserID: row.ID, Now: now}); err != nil {
			return err
		}
		err := q.InsertMFALogin(ctx, db.InsertMFALoginParams{TokenHash: hashSecret(token), UserID: row.ID, Audience: audience, Now: now, ExpiresAt: now.Add(MFATokenTTL)})
		if err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.Login, Outcome: audit.Success, ActorID: row.ID, SubjectID: row.ID,
			Details: map[string]any{"mfa_required": true, "methods": methods}})
	})
	if err != nil {
		return MFAPending{}, err
	}
	return MFAPending{Token: token, Methods: methods, ExpiresIn: int(MFATokenTTL.Seconds())}, nil
}

// MFAPendingUser returns the user whose password login an unexpired, unused mfa_token stands for
// (does not consume it). Unknown/expired/used → apperr Unauthenticated code "invalid_mfa_token".
func (a *Accounts) MFAPendingUser(ctx context.Context, mfaToken string) (uuid.UUID, error) {
	row, err := a.store.Queries().GetMFALogin(ctx, db.GetMFALoginParams{TokenHash: hashSecret(mfaToken), Now: a.now()})
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, errBadMFAToken
	} else if err != nil {
		return uuid.Nil, err
	}
	return row.UserID, nil
}

// CompleteMFA consumes mfaToken (single use, atomically) and returns the token pair of that login,
// authenticated by method ("totp" | "recovery_code" | "passkey"). The caller has verified the
// second factor; this clears the account's failure counter, as a successful sign-in does.
func (a *Accounts) CompleteMFA(ctx context.Context, mfaToken, method string) (TokenPair, error) {
	if !slices.Contains([]string{MethodTOTP, MethodRecoveryCode, MethodPasskey}, method) {
		return TokenPair{}, errors.New("auth: CompleteMFA: unknown method " + method)
	}
	now := a.now()
	in := secondFactorSignIn(method, now)
	var (
		user     User
		audience string
		famID    uuid.UUID
		refresh  string
	)
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		login, err := q.ConsumeMFALogin(ctx, db.ConsumeMFALoginParams{TokenHash: hashSecret(mfaToken), Now: now})
		if errors.Is(err, pgx.ErrNoRows) {
			return errBadMFAToken
		} else if err != nil {
			return err
		}
		row, err := q.GetUser(ctx, login.UserID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errBadMFAToken
		} else if err != nil {
			return err
		}
		if !row.IsActive {
			return apperr.New(apperr.Forbidden, "account_disabled", "this account is disabled")
		}
		if err := clearFailures(ctx, q, row); err != nil {
			return err
		}
		user, audience = userFromRow(row), login.Audience
		famID, refresh, err = a.startFamily(ctx, q, user.ID, audience, audit.MFAChallenge, now, in)
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	return a.pair(ctx, user, famID, audience, refresh, in)
}

// Reauthenticated records a fresh authentication of p's sign-in (step-up) by method and returns a
// new token pair carrying the new auth_time. The family's current refresh token is rotated (as a
// refresh would, grace window included), so the session stays one chain of tokens.
func (a *Accounts) Reauthenticated(ctx context.Context, p Principal, method string) (TokenPair, error) {
	amr, ok := amrValues[method]
	if !ok {
		return TokenPair{}, errors.New("auth: Reauthenticated: unknown method " + method)
	}
	if p.FamilyID == uuid.Nil {
		return TokenPair{}, errNotASession
	}
	now := a.now()
	in := signIn{At: now, AMR: []string{amr}}
	var (
		user     User
		audience string
		secret   string
		bound    *string
	)
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		tok, err := q.LockCurrentRefreshToken(ctx, p.FamilyID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRevoked
		} else if err != nil {
			return err
		}
		if tok.FamilyRevokedAt != nil || tok.UserID != p.UserID {
			return errRevoked
		}
		audience = tok.Audience
		// The new pair keeps the family's DPoP binding (or its absence), whatever this request sent.
		fam, err := q.GetRefreshFamily(ctx, p.FamilyID)
		if err != nil {
			return err
		}
		bound = fam.DpopJkt
		if secret, err = a.rotate(ctx, q, db.LockRefreshTokenRow(tok), now); err != nil {
			return err
		}
		if err := q.SetRefreshFamilySignIn(ctx, db.SetRefreshFamilySignInParams{AuthTime: now, Amr: in.AMR, ID: p.FamilyID}); err != nil {
			return err
		}
		row, err := q.GetUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if !row.IsActive {
			return errRevoked
		}
		user = userFromRow(row)
		return audit.Record(ctx, q, now, audit.Event{Action: audit.Reauthenticate, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"method": method, "family_id": p.FamilyID.String()}})
	})
	if err != nil {
		return TokenPair{}, err
	}
	jkt := ""
	if bound != nil {
		jkt = *bound
	}
	return a.pair(WithDPoPThumbprint(ctx, jkt), user, p.FamilyID, audience, secret, in)
}

var errNotASession = apperr.New(apperr.Invalid, "not_a_session", "API keys have no session; sign in with a password")
