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

// Lockout: every failed password check counts against the account it names (sign-in by email or
// by username, change-password, delete-profile), so guessing through another identifier or
// through a stolen token or API key meets the same lock. Identifiers that name no account are
// counted on their own, so an unknown one locks after the same number of failures and the
// answers do not tell whether an account exists.

// failureCount is a counter's state after a failure was recorded.
type failureCount struct {
	failures    int32
	lockedUntil *time.Time
}

// lockRules are the counter parameters of a failure at now.
func (a *Accounts) lockRules(now time.Time) (threshold int32, lockUntil, quietSince time.Time) {
	return int32(a.set.LockoutThreshold), now.Add(a.set.LockoutDuration), now.Add(-a.set.LockoutDuration)
}

// accountLock returns the account_locked error when userID's lock is in force, else nil.
func accountLock(ctx context.Context, q *db.Queries, userID uuid.UUID, now time.Time) error {
	until, err := q.GetUserLockout(ctx, db.GetUserLockoutParams{UserID: userID, Now: now})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	case until != nil:
		return lockedError(until.Sub(now))
	}
	return nil
}

// identifierLock returns the account_locked error when the identifier's own lock is in force.
func identifierLock(ctx context.Context, q *db.Queries, ident string, now time.Time) error {
	lf, err := q.GetLoginFailure(ctx, ident)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	case lf.LockedUntil != nil && lf.LockedUntil.After(now):
		return lockedError(lf.LockedUntil.Sub(now))
	}
	return nil
}

// accountFailed counts a failed password check of userID; see countFailure.
func (a *Accounts) accountFailed(ctx context.Context, userID uuid.UUID, ev audit.Event, wrong error, now time.Time) error {
	ev.SubjectID = userID
	return a.countFailure(ctx, ev, wrong, now, func(q *db.Queries) (failureCount, error) {
		threshold, until, quiet := a.lockRules(now)
		r, err := q.RecordUserFailure(ctx, db.RecordUserFailureParams{UserID: userID, Now: now, Threshold: threshold, LockUntil: until, QuietSince: quiet})
		return failureCount{r.Failures, r.LockedUntil}, err
	})
}

// identifierFailed counts a failed sign-in with an identifier that names no account.
func (a *Accounts) identifierFailed(ctx context.Context, ident string, now time.Time) error {
	ev := audit.Event{Action: audit.Login, Outcome: audit.Failure, Details: map[string]any{"identifier": ident}}
	return a.countFailure(ctx, ev, errBadCredentials, now, func(q *db.Queries) (failureCount, error) {
		threshold, until, quiet := a.lockRules(now)
		r, err := q.RecordLoginFailure(ctx, db.RecordLoginFailureParams{Identifier: ident, Now: now, Threshold: threshold, LockUntil: until, QuietSince: quiet})
		return failureCount{r.Failures, r.LockedUntil}, err
	})
}

// countFailure records a failure with record and audits it as ev (committed although the request
// fails); the answer is wrong, or account_locked when this very failure set the lock.
func (a *Accounts) countFailure(ctx context.Context, ev audit.Event, wrong error, now time.Time, record func(*db.Queries) (failureCount, error)) error {
	var locked *time.Time
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		fc, err := record(q)
		if err != nil {
			return err
		}
		ev.Details = withDetail(ev.Details, "failures", fc.failures)
		if err := audit.Record(ctx, q, now, ev); err != nil {
			return err
		}
		if fc.lockedUntil != nil && fc.lockedUntil.After(now) && int(fc.failures) == a.set.LockoutThreshold {
			locked = fc.lockedUntil
			lock := ev
			lock.Action = audit.Lockout
			lock.Details = withDetail(withDetail(ev.Details, "until", fc.lockedUntil.UTC().Format(time.RFC3339)), "after", string(ev.Action))
			return audit.Record(ctx, q, now, lock)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if locked != nil {
		return lockedError(locked.Sub(now))
	}
	return wrong
}

func withDetail(d map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(d)+1)
	for key, val := range d {
		out[key] = val
	}
	out[k] = v
	return out
}

func isLocked(err error) bool {
	e, ok := apperr.As(err)
	return ok && e.Code == "account_locked"
}

func lockedError(wait time.Duration) error {
	return apperr.New(apperr.RateLimited, "account_locked", "too many failed password attempts; try again later").WithRetryAfter(wait)
}

// reauthenticate confirms the signed-in caller's password before a sensitive change, inside the
// change's transaction: it locks the user row, refuses a locked account without checking the
// password, and answers errWrongPassword for a wrong one. The caller hands that error to
// reauthFailed once its transaction has rolled back.
func (a *Accounts) reauthenticate(ctx context.Context, q *db.Queries, userID uuid.UUID, password string, now time.Time) (db.User, error) {
	row, err := q.GetUserForUpdate(ctx, userID)
	if err != nil {
		return db.User{}, err
	}
	if err := accountLock(ctx, q, userID, now); err != nil {
		return db.User{}, err
	}
	if !a.passwords.Matches(row.PasswordHash, password) {
		return db.User{}, errWrongPassword
	}
	return row, nil
}

// reauthFailed turns reauthenticate's refusal into the answer: a wrong password is counted towards
// the account's lock and audited as a failure of action; a refusal because of the lock is audited.
func (a *Accounts) reauthFailed(ctx context.Context, userID uuid.UUID, action audit.Action, err error, now time.Time) error {
	ev := audit.Event{Action: action, Outcome: audit.Failure, ActorID: userID, SubjectID: userID}
	switch {
	case errors.Is(err, errWrongPassword):
		ev.Details = map[string]any{"reason": "wrong_password"}
		return a.accountFailed(ctx, userID, ev, errWrongPassword, now)
	case isLocked(err):
		ev.Details = map[string]any{"reason": "account_locked"}
		if aerr := a.store.InTx(ctx, func(q *db.Queries) error { return audit.Record(ctx, q, now, ev) }); aerr != nil {
			return aerr
		}
	}
	return err
}
