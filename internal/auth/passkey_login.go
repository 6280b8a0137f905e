package auth

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

var errPasskeyRejected = apperr.New(apperr.Unauthenticated, "passkey_rejected", "the passkey could not be verified")

// BeginLogin starts a usernameless sign-in: no allowCredentials, so the authenticator offers the
// discoverable passkeys it holds for this relying party; user verification is required. With an
// mfaToken (a password sign-in waiting for its second factor) the options list that user's
// passkeys instead.
func (p *Passkeys) BeginLogin(ctx context.Context, mfaToken string) (Ceremony, error) {
	uv := webauthn.WithUserVerification(protocol.VerificationRequired)
	if mfaToken == "" {
		assertion, session, err := p.wa.BeginDiscoverableLogin(uv)
		if err != nil {
			return Ceremony{}, err
		}
		return p.open(ctx, p.loginKey, ceremony{Session: *session}, assertion)
	}
	userID, err := p.accounts.MFAPendingUser(ctx, mfaToken)
	if err != nil {
		return Ceremony{}, err
	}
	user, _, err := p.loadUser(ctx, p.accounts.store.Queries(), userID)
	if err != nil {
		return Ceremony{}, err
	}
	if len(user.creds) == 0 {
		return Ceremony{}, apperr.New(apperr.Invalid, "no_passkey", "this account has no passkey; use another method").
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/mfa_token", Detail: "the account has no passkey"})
	}
	assertion, session, err := p.wa.BeginLogin(user, uv)
	if err != nil {
		return Ceremony{}, err
	}
	return p.open(ctx, p.loginKey, ceremony{Session: *session, UserID: userID}, assertion)
}

// verifiedAssertion is an assertion that passed every check, and the passkey it proved.
type verifiedAssertion struct {
	row  db.Passkey
	cred *webauthn.Credential
}

// passkeySignIn is a sign-in by a user-verified passkey: possession and the user's biometric or
// PIN on the device, two factors in one (RFC 8176 "hwk" and "user").
func passkeySignIn(at time.Time) signIn {
	return signIn{At: at, AMR: []string{amrValues[MethodPasskey], "user"}}
}

// FinishLogin verifies the assertion and signs its owner in. With an mfaToken the passkey is the
// second factor of that password sign-in: the assertion must be the pending user's, and the
// pair is that login's (CompleteMFA).
func (p *Passkeys) FinishLogin(ctx context.Context, ceremonyID string, credential []byte, clientType, mfaToken string) (TokenPair, error) {
	var pending uuid.UUID
	if mfaToken != "" {
		var err error
		if pending, err = p.accounts.MFAPendingUser(ctx, mfaToken); err != nil {
			return TokenPair{}, err
		}
	}
	v, err := p.verifyAssertion(ctx, p.loginKey(ceremonyID), credential)
	if err != nil {
		return TokenPair{}, err
	}
	if mfaToken != "" {
		return p.secondFactor(ctx, v, pending, mfaToken)
	}
	now := p.accounts.now()
	audience := audienceFor(clientType)
	in := passkeySignIn(now)
	var (
		user    User
		famID   uuid.UUID
		refresh string
	)
	err = p.accounts.store.InTx(ctx, func(q *db.Queries) error {
		row, err := p.recordUse(ctx, q, v)
		if err != nil {
			return err
		}
		user = userFromRow(row)
		famID, refresh, err = p.accounts.startFamily(ctx, q, user.ID, audience, audit.PasskeyLogin, now, in)
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	return p.accounts.pair(ctx, user, famID, audience, refresh, in)
}

// verifyAssertion spends the ceremony under key and checks the assertion: the passkey exists and
// belongs to the user handle it claims, signature, challenge, origin, relying party, user
// verification and backup flags hold (the library), and the sign count moved forward. Every
// refusal is audited and answers the same 401.
func (p *Passkeys) verifyAssertion(ctx context.Context, key string, credential []byte) (verifiedAssertion, error) {
	reject := func(userID uuid.UUID, reason string, details map[string]any) (verifiedAssertion, error) {
		if details == nil {
			details = map[string]any{}
		}
		details["reason"] = reason
		p.auditFailure(ctx, audit.Event{Action: audit.PasskeyLogin, Outcome: audit.Failure, SubjectID: userID, Details: details})
		return verifiedAssertion{}, errPasskeyRejected
	}
	c, err := p.takeCeremony(ctx, key)
	if errors.Is(err, errNoCeremony) {
		return reject(uuid.Nil, "unknown_ceremony", nil)
	} else if err != nil {
		return verifiedAssertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return reject(uuid.Nil, "malformed", map[string]any{"error": verificationDetail(err)})
	}
	q := p.accounts.store.Queries()
	row, err := q.GetPasskeyByCredential(ctx, parsed.RawID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return reject(uuid.Nil, "unknown_credential", nil)
	case err != nil:
		return verifiedAssertion{}, err
	}
	user, _, err := p.loadUser(ctx, q, row.UserID)
	if err != nil {
		return verifiedAssertion{}, err
	}
	details := map[string]any{"passkey_id": row.ID.String()}
	owner := func(rawID, userHandle []byte) (webauthn.User, error) {
		if !bytes.Equal(userHandle, user.WebAuthnID()) {
			return nil, errors.New("the user handle is not the passkey's owner")
		}
		return user, nil
	}
	var cred *webauthn.Credential
	if len(c.Session.UserID) > 0 { // a ceremony for one user (a second factor): allowCredentials
		if !bytes.Equal(c.Session.UserID, user.WebAuthnID()) {
			return reject(row.UserID, "other_user", details)
		}
		cred, err = p.wa.ValidateLogin(user, c.Session, parsed)
	} else {
		_, cred, err = p.wa.ValidatePasskeyLogin(owner, c.Session, parsed)
	}
	if err != nil {
		details["error"] = verificationDetail(err)
		return reject(row.UserID, "verification_failed", details)
	}
	// The library flags a counter that did not increase (a cloned authenticator, or two copies of
	// the key in use) and leaves the decision to us: refuse, keep the stored counter.
	if cred.Authenticator.CloneWarning {
		details["stored_sign_count"], details["presented_sign_count"] = row.SignCount, parsed.Response.AuthenticatorData.Counter
		return reject(row.UserID, "sign_count_not_increased", details)
	}
	return verifiedAssertion{row: row, cred: cred}, nil
}

// recordUse advances the passkey's sign count from the value the assertion was checked against
// (so two racing uses of one counter value cannot both pass) and returns the owner, who must
// still be active.
func (p *Passkeys) recordUse(ctx context.Context, q *db.Queries, v verifiedAssertion) (db.User, error) {
	n, err := q.UsePasskey(ctx, db.UsePasskeyParams{
		ID: v.row.ID, OldCount: v.row.SignCount, NewCount: int64(v.cred.Authenticator.SignCount),
		UserVerified: v.cred.Flags.UserVerified, BackupState: v.cred.Flags.BackupState, Now: p.accounts.now(),
	})
	if err != nil {
		return db.User{}, err
	}
	if n == 0 {
		return db.User{}, errPasskeyRejected // used concurrently, or deleted meanwhile
	}
	u, err := q.GetUser(ctx, v.row.UserID)
	if err != nil {
		return db.User{}, err
	}
	if !u.IsActive {
		return db.User{}, apperr.New(apperr.Forbidden, "account_disabled", "this account is disabled")
	}
	return u, nil
}
