package auth

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// SecondFactor is a code proving the second step of a sign-in or a re-authentication: exactly
// one of its fields is set.
type SecondFactor struct {
	TOTPCode     string
	RecoveryCode string
}

// method names the factor; "" when none or both are set.
func (f SecondFactor) method() string {
	switch {
	case f.TOTPCode != "" && f.RecoveryCode == "":
		return MethodTOTP
	case f.RecoveryCode != "" && f.TOTPCode == "":
		return MethodRecoveryCode
	}
	return ""
}

var errOneFactor = apperr.New(apperr.Invalid, "validation_failed", "send exactly one of totp_code or recovery_code").
	WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/totp_code", Detail: "exactly one of totp_code or recovery_code"})

// CompleteMFAChallenge finishes a pending password sign-in with a TOTP or recovery code. A wrong
// code is audited and counts towards the account's lockout; the mfa_token stays usable until it
// expires (the lockout bounds the guesses).
func (a *Accounts) CompleteMFAChallenge(ctx context.Context, mfaToken string, f SecondFactor) (TokenPair, error) {
	method := f.method()
	if method == "" {
		return TokenPair{}, errOneFactor
	}
	userID, err := a.MFAPendingUser(ctx, mfaToken)
	if err != nil {
		return TokenPair{}, err
	}
	now := a.now()
	if err := accountLock(ctx, a.store.Queries(), userID, now); err != nil {
		return TokenPair{}, err
	}
	if err := a.checkFactor(ctx, userID, f, now); err != nil {
		if errors.Is(err, errBadCode) {
			ev := audit.Event{Action: audit.MFAChallenge, Outcome: audit.Failure, Details: map[string]any{"method": method, "reason": "invalid_code"}}
			return TokenPair{}, a.accountFailed(ctx, userID, ev, errBadChallengeCode, now)
		}
		return TokenPair{}, err
	}
	return a.CompleteMFA(ctx, mfaToken, method)
}

// errBadChallengeCode is errBadCode for a caller who is not signed in yet.
var errBadChallengeCode = apperr.New(apperr.Unauthenticated, "invalid_code", "the code is wrong, expired or already used")

// checkFactor verifies (and, for a recovery code, spends) f; a wrong one is errBadCode.
func (a *Accounts) checkFactor(ctx context.Context, userID uuid.UUID, f SecondFactor, now time.Time) error {
	if f.TOTPCode != "" {
		return a.checkActiveTOTP(ctx, userID, f.TOTPCode, now)
	}
	return a.useRecoveryCode(ctx, userID, f.RecoveryCode, now)
}

// Proof is what POST /v1/auth/reauthenticate presents: a password or a second factor (the
// passkey branch is verified by the passkey service, which then calls Reauthenticated).
type Proof struct {
	Password string
	SecondFactor
}

// Reauthenticate confirms the signed-in caller again (step-up) and returns a pair carrying the new
// auth_time. A wrong secret is audited and counts towards the account's lockout.
func (a *Accounts) Reauthenticate(ctx context.Context, p Principal, proof Proof) (TokenPair, error) {
	if p.FamilyID == uuid.Nil {
		return TokenPair{}, errNotASession
	}
	now := a.now()
	method := MethodPassword
	if proof.Password == "" {
		if method = proof.method(); method == "" {
			return TokenPair{}, errOneFactor
		}
	}
	q := a.store.Queries()
	if err := accountLock(ctx, q, p.UserID, now); err != nil {
		return TokenPair{}, err
	}
	var err error
	if method == MethodPassword {
		var row db.User
		if row, err = q.GetUser(ctx, p.UserID); err == nil && !a.passwords.Matches(row.PasswordHash, proof.Password) {
			err = errWrongPassword
		}
	} else {
		err = a.checkFactor(ctx, p.UserID, proof.SecondFactor, now)
	}
	if errors.Is(err, errWrongPassword) || errors.Is(err, errBadCode) {
		ev := audit.Event{Action: audit.Reauthenticate, Outcome: audit.Failure, ActorID: p.UserID, Details: map[string]any{"method": method}}
		return TokenPair{}, a.accountFailed(ctx, p.UserID, ev, err, now)
	} else if err != nil {
		return TokenPair{}, err
	}
	return a.Reauthenticated(ctx, p, method)
}

// ReauthMethods are the methods POST /v1/auth/reauthenticate accepts for userID.
func (a *Accounts) ReauthMethods(ctx context.Context, userID uuid.UUID) ([]string, error) {
	factors, err := a.secondFactors(ctx, userID)
	if err != nil {
		return nil, err
	}
	return append([]string{MethodPassword}, factors...), nil
}

// RequireRecentAuth is the step-up check of critical operations: when p's account has MFA, p's
// sign-in (or latest re-authentication) must be at most the configured age. API keys have no
// sign-in time and cannot pass for such an account.
func (a *Accounts) RequireRecentAuth(ctx context.Context, p Principal) error {
	factors, err := a.secondFactors(ctx, p.UserID)
	if err != nil || len(factors) == 0 {
		return err
	}
	maxAge := a.mfa.StepUpMaxAge
	if maxAge <= 0 {
		maxAge = DefaultStepUpMaxAge
	}
	if p.APIKeyID == uuid.Nil && !p.AuthTime.IsZero() && a.now().Sub(p.AuthTime) <= maxAge {
		return nil
	}
	detail := "this operation needs a recent sign-in: re-authenticate at /v1/auth/reauthenticate"
	if p.APIKeyID != uuid.Nil {
		detail = "this operation needs a recent sign-in, which an API key cannot give for an account with MFA"
	}
	return apperr.New(apperr.Unauthenticated, "reauthentication_required", detail).
		WithMethods(append([]string{MethodPassword}, factors...))
}
