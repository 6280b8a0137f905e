package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// Registration is a sign-up request.
type Registration struct {
	Email      string
	Password   string
	Username   *string
	ClientType string
}

var errBadCredentials = apperr.New(apperr.Unauthenticated, "invalid_credentials", "the email, username or password is wrong")

// Register creates a user (always with the `user` role) and signs them in.
func (a *Accounts) Register(ctx context.Context, r Registration) (TokenPair, error) {
	email, skeleton, err := canonicalEmail(r.Email)
	if err != nil {
		return TokenPair{}, err
	}
	hash, err := a.passwords.Hash(r.Password, "/password")
	if err != nil {
		return TokenPair{}, err
	}
	now := a.now()
	audience := audienceFor(r.ClientType)
	var (
		user    User
		famID   uuid.UUID
		refresh string
	)
	err = a.store.InTx(ctx, func(q *db.Queries) error {
		row, err := createUser(ctx, q, db.CreateUserParams{Email: email, EmailSkeleton: skeleton, Username: r.Username, PasswordHash: hash, Roles: []string{"user"}})
		if err != nil {
			return err
		}
		user = userFromRow(row)
		famID, refresh, err = a.startFamily(ctx, q, user.ID, audience, audit.Register, now)
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	return a.pair(ctx, user, famID, audience, refresh)
}

// Login signs in with an email or username. Unknown identifiers cost the same bcrypt work and
// count towards the same lockout as known ones, so neither reveals whether an account exists.
func (a *Accounts) Login(ctx context.Context, identifier, password, clientType string) (TokenPair, error) {
	ident := strings.ToLower(strings.TrimSpace(identifier))
	now := a.now()
	q := a.store.Queries()
	if lf, err := q.GetLoginFailure(ctx, ident); err == nil && lf.LockedUntil != nil && lf.LockedUntil.After(now) {
		return TokenPair{}, lockedError(lf.LockedUntil.Sub(now))
	} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return TokenPair{}, err
	}
	row, err := q.GetUserByLogin(ctx, ident)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		a.passwords.Waste(password)
		return TokenPair{}, a.loginFailed(ctx, ident, nil, now)
	case err != nil:
		return TokenPair{}, err
	case !a.passwords.Matches(row.PasswordHash, password):
		return TokenPair{}, a.loginFailed(ctx, ident, &row.ID, now)
	case !row.IsActive:
		return TokenPair{}, apperr.New(apperr.Forbidden, "account_disabled", "this account is disabled")
	}
	user := userFromRow(row)
	audience := audienceFor(clientType)
	var (
		famID   uuid.UUID
		refresh string
	)
	err = a.store.InTx(ctx, func(q *db.Queries) error {
		if err := q.ClearLoginFailures(ctx, loginIdentifiers(row)); err != nil {
			return err
		}
		var err error
		famID, refresh, err = a.startFamily(ctx, q, user.ID, audience, audit.Login, now)
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	return a.pair(ctx, user, famID, audience, refresh)
}

// loginFailed counts the failure (committed although the request fails) and answers 401, or 429
// when this failure locked the identifier.
func (a *Accounts) loginFailed(ctx context.Context, ident string, userID *uuid.UUID, now time.Time) error {
	var locked *time.Time
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		lf, err := q.RecordLoginFailure(ctx, db.RecordLoginFailureParams{
			Identifier: ident, Now: now, Threshold: int32(a.set.LockoutThreshold),
			LockUntil: now.Add(a.set.LockoutDuration), QuietSince: now.Add(-a.set.LockoutDuration),
		})
		if err != nil {
			return err
		}
		ev := audit.Event{Action: audit.Login, Outcome: audit.Failure, Details: map[string]any{"identifier": ident, "failures": lf.Failures}}
		if userID != nil {
			ev.SubjectID = *userID
		}
		if err := audit.Record(ctx, q, now, ev); err != nil {
			return err
		}
		if lf.LockedUntil != nil && lf.LockedUntil.After(now) && int(lf.Failures) == a.set.LockoutThreshold {
			locked = lf.LockedUntil
			ev.Action, ev.Details = audit.Lockout, map[string]any{"identifier": ident, "until": lf.LockedUntil.UTC().Format(time.RFC3339)}
			return audit.Record(ctx, q, now, ev)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if locked != nil {
		return lockedError(locked.Sub(now))
	}
	return errBadCredentials
}

func lockedError(wait time.Duration) error {
	return apperr.New(apperr.RateLimited, "account_locked", "too many failed sign-ins; try again later").WithRetryAfter(wait)
}

// loginIdentifiers are the lockout keys that can name a user.
func loginIdentifiers(u db.User) []string {
	ids := []string{strings.ToLower(u.Email)}
	if u.Username != nil {
		ids = append(ids, strings.ToLower(*u.Username))
	}
	return ids
}

// CreateAdmin creates an administrator account (the `users create-admin` command).
func (a *Accounts) CreateAdmin(ctx context.Context, email, password string) (User, error) {
	email, skeleton, err := canonicalEmail(email)
	if err != nil {
		return User{}, err
	}
	hash, err := a.passwords.Hash(password, "password")
	if err != nil {
		return User{}, err
	}
	now := a.now()
	var user User
	err = a.store.InTx(ctx, func(q *db.Queries) error {
		row, err := createUser(ctx, q, db.CreateUserParams{Email: email, EmailSkeleton: skeleton, PasswordHash: hash, Roles: []string{"user", "admin"}})
		if err != nil {
			return err
		}
		user = userFromRow(row)
		return audit.Record(ctx, q, now, audit.Event{Action: audit.Register, Outcome: audit.Success, SubjectID: user.ID,
			Details: map[string]any{"via": "cli", "roles": row.Roles}})
	})
	return user, err
}
