package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// HasPasskey reports whether the user holds a passkey: passkeys count as MFA (PasskeyCounter).
func (p *Passkeys) HasPasskey(ctx context.Context, userID uuid.UUID) (bool, error) {
	n, err := p.CountPasskeys(ctx, userID)
	return n > 0, err
}

// secondFactor completes the pending password sign-in of mfaToken with a verified assertion,
// which must be of that sign-in's user.
func (p *Passkeys) secondFactor(ctx context.Context, v verifiedAssertion, pending uuid.UUID, mfaToken string) (TokenPair, error) {
	if v.row.UserID != pending {
		p.auditFailure(ctx, audit.Event{Action: audit.PasskeyLogin, Outcome: audit.Failure, SubjectID: pending,
			Details: map[string]any{"reason": "other_user", "passkey_id": v.row.ID.String()}})
		return TokenPair{}, errPasskeyRejected
	}
	if err := p.accounts.store.InTx(ctx, func(q *db.Queries) error { _, err := p.recordUse(ctx, q, v); return err }); err != nil {
		return TokenPair{}, err
	}
	return p.accounts.CompleteMFA(ctx, mfaToken, MethodPasskey)
}

// Reauthenticate is the passkey branch of a step-up: an assertion of a ceremony from
// BeginLogin, by one of the caller's own passkeys, moves the session's auth_time forward.
func (p *Passkeys) Reauthenticate(ctx context.Context, pr Principal, ceremonyID string, credential []byte) (TokenPair, error) {
	v, err := p.verifyAssertion(ctx, p.loginKey(ceremonyID), credential)
	if err != nil {
		return TokenPair{}, err
	}
	if v.row.UserID != pr.UserID {
		p.auditFailure(ctx, audit.Event{Action: audit.PasskeyLogin, Outcome: audit.Failure, ActorID: pr.UserID, SubjectID: pr.UserID,
			Details: map[string]any{"reason": "other_user", "step_up": true}})
		return TokenPair{}, errPasskeyRejected
	}
	if err := p.accounts.store.InTx(ctx, func(q *db.Queries) error { _, err := p.recordUse(ctx, q, v); return err }); err != nil {
		return TokenPair{}, err
	}
	return p.accounts.Reauthenticated(ctx, pr, MethodPasskey)
}
