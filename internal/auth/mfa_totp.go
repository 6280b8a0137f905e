package auth

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// TOTP parameters (RFC 6238 defaults, what every authenticator app supports).
const (
	totpPeriod = 30 // seconds per step
	totpSkew   = 1  // steps accepted either side of the current one
)

var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

var (
	errBadCode         = apperr.New(apperr.Forbidden, "invalid_code", "the code is wrong, expired or already used")
	errMFAEnabled      = apperr.New(apperr.Conflict, "mfa_already_enabled", "TOTP is already active; turn it off first")
	errMFANotEnabled   = apperr.New(apperr.Conflict, "mfa_not_enabled", "TOTP is not active on this account")
	errNoTOTPEnrolment = apperr.New(apperr.NotFound, "not_found", "no TOTP enrolment")
)

// TOTPEnrollment is a pending authenticator: its secret and the otpauth URL for the QR code.
type TOTPEnrollment struct {
	Secret string
	URL    string
}

// EnrollTOTP starts (or restarts) the enrolment of an authenticator for p's account.
func (a *Accounts) EnrollTOTP(ctx context.Context, p Principal) (TOTPEnrollment, error) {
	box, err := a.totpBox()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	now := a.now()
	var out TOTPEnrollment
	err = a.store.InTx(ctx, func(q *db.Queries) error {
		user, err := q.GetUserForUpdate(ctx, p.UserID)
		if err != nil {
			return err
		}
		if cur, err := q.GetTOTP(ctx, p.UserID); err == nil && cur.ConfirmedAt != nil {
			return errMFAEnabled
		} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: a.mfa.Issuer, AccountName: user.Email, Period: totpPeriod,
			Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return err
		}
		sealed, err := box.Seal([]byte(key.Secret()), totpAAD(p.UserID))
		if err != nil {
			return err
		}
		if err := q.UpsertPendingTOTP(ctx, db.UpsertPendingTOTPParams{UserID: p.UserID, SecretEnc: sealed, Now: now}); err != nil {
			return err
		}
		out = TOTPEnrollment{Secret: key.Secret(), URL: key.URL()}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.MFAEnroll, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"method": MethodTOTP}})
	})
	return out, err
}

// VerifyTOTP activates the pending authenticator with its first code and returns the recovery
// codes. A wrong code counts towards the account's lockout.
func (a *Accounts) VerifyTOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	now := a.now()
	var codes []string
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		if err := accountLock(ctx, q, p.UserID, now); err != nil {
			return err
		}
		row, err := q.GetTOTPForUpdate(ctx, p.UserID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoTOTPEnrolment
		} else if err != nil {
			return err
		}
		if row.ConfirmedAt != nil {
			return errMFAEnabled
		}
		if err := a.acceptTOTP(ctx, q, row, code, now); err != nil {
			return err
		}
		if codes, err = replaceRecoveryCodes(ctx, q, p.UserID, now); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.MFAEnable, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"method": MethodTOTP, "recovery_codes": len(codes)}})
	})
	if errors.Is(err, errBadCode) {
		return nil, a.accountFailed(ctx, p.UserID, audit.Event{Action: audit.MFAEnable, Outcome: audit.Failure, ActorID: p.UserID,
			Details: map[string]any{"reason": "invalid_code"}}, errBadCode, now)
	}
	return codes, err
}

// DisableTOTP removes the authenticator and the recovery codes (the route demands a step-up).
func (a *Accounts) DisableTOTP(ctx context.Context, p Principal) error {
	now := a.now()
	return a.store.InTx(ctx, func(q *db.Queries) error {
		n, err := q.DeleteTOTP(ctx, p.UserID)
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoTOTPEnrolment
		}
		if err := q.DeleteRecoveryCodes(ctx, p.UserID); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.MFADisable, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"method": MethodTOTP}})
	})
}

// acceptTOTP checks code against row's secret within ±totpSkew steps of now and accepts its step
// only if it is later than the last accepted one (compare-and-set in the database, so of two
// concurrent uses of one code exactly one wins). Anything else is errBadCode.
func (a *Accounts) acceptTOTP(ctx context.Context, q *db.Queries, row db.UserTotp, code string, now time.Time) error {
	box, err := a.totpBox()
	if err != nil {
		return err
	}
	secret, err := box.Open(row.SecretEnc, totpAAD(row.UserID))
	if err != nil {
		return err
	}
	step, ok := matchingStep(string(secret), code, now)
	if !ok || step <= row.LastStep {
		return errBadCode
	}
	n, err := q.AcceptTOTPStep(ctx, db.AcceptTOTPStepParams{Step: step, Now: now, UserID: row.UserID})
	if err != nil {
		return err
	}
	if n == 0 {
		return errBadCode
	}
	return nil
}

// matchingStep returns the time step within the skew whose code is code (hotp compares in
// constant time). The latest step is tried first.
func matchingStep(secret, code string, now time.Time) (int64, bool) {
	current := now.Unix() / totpPeriod
	for step := current + totpSkew; step >= current-totpSkew; step-- {
		if step < 1 {
			continue
		}
		ok, err := hotp.ValidateCustom(code, uint64(step), secret, totpOpts)
		if err == nil && ok {
			return step, true
		}
	}
	return 0, false
}

// checkActiveTOTP verifies code against p's active authenticator (sign-in second step, step-up).
func (a *Accounts) checkActiveTOTP(ctx context.Context, userID uuid.UUID, code string, now time.Time) error {
	return a.store.InTx(ctx, func(q *db.Queries) error {
		row, err := q.GetTOTPForUpdate(ctx, userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errBadCode
		} else if err != nil {
			return err
		}
		if row.ConfirmedAt == nil {
			return errBadCode
		}
		return a.acceptTOTP(ctx, q, row, code, now)
	})
}

// totpAAD binds a sealed secret to its user: copied to another row it does not open.
func totpAAD(userID uuid.UUID) []byte { return append([]byte("totp:"), userID[:]...) }
