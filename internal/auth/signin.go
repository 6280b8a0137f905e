package auth

import (
	"context"
	"errors"
	"strings"

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
		famID, refresh, err = a.startFamily(ctx, q, user.ID, audience, audit.Register, now, passwordSignIn(now))
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	return a.pair(ctx, user, famID, audience, refresh, passwordSignIn(now))
}

// Login signs in with an email or username. A failed password counts against the account, whichever
// identifier named it; an unknown identifier costs the same bcrypt work and locks after as many
// failures as an account, so neither the answer nor its timing reveals whether an account exists.
// An account with MFA gets no tokens here: the result carries the pending second step instead.
func (a *Accounts) Login(ctx context.Context, identifier, password, clientType string) (LoginResult, error) {
	ident := strings.ToLower(strings.TrimSpace(identifier))
	now := a.now()
	q := a.store.Queries()
	if err := identifierLock(ctx, q, ident, now); err != nil {
		return LoginResult{}, err
	}
	row, err := q.GetUserByLogin(ctx, ident)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		a.passwords.Waste(password)
		return LoginResult{}, a.identifierFailed(ctx, ident, now)
	case err != nil:
		return LoginResult{}, err
	}
	// A locked account refuses even the right password, without the bcrypt work, as a locked
	// unknown identifier does above.
	if err := accountLock(ctx, q, row.ID, now); err != nil {
		return LoginResult{}, err
	}
	switch {
	case !a.passwords.Matches(row.PasswordHash, password):
		ev := audit.Event{Action: audit.Login, Outcome: audit.Failure, Details: map[string]any{"identifier": ident}}
		return LoginResult{}, a.accountFailed(ctx, row.ID, ev, errBadCredentials, now)
	case !row.IsActive:
		return LoginResult{}, apperr.New(apperr.Forbidden, "account_disabled", "this account is disabled")
	}
	user := userFromRow(row)
	audience := audienceFor(clientType)
	methods, err := a.secondFactors(ctx, user.ID)
	if err != nil {
		return LoginResult{}, err
	}
	if len(methods) > 0 {
		pending, err := a.startMFALogin(ctx, row, audience, methods, now)
		return LoginResult{MFA: &pending}, err
	}
	var (
		famID   uuid.UUID
		refresh string
	)
	err = a.store.InTx(ctx, func(q *db.Queries) error {
		if err := clearFailures(ctx, q, row); err != nil {
			return err
		}
		var err error
		famID, refresh, err = a.startFamily(ctx, q, user.ID, audience, audit.Login, now, passwordSignIn(now))
		return err
	})
	if err != nil {
		return LoginResult{}, err
	}
	pair, err := a.pair(ctx, user, famID, audience, refresh, passwordSignIn(now))
	return LoginResult{Tokens: pair}, err
}

// clearFailures forgets u's failed attempts: its account counter and any identifier counters
// (from before accounts were counted, or from before the identifier was registered).
func clearFailures(ctx context.Context, q *db.Queries, u db.User) error {
	if err := q.ClearUserLockout(ctx, u.ID); err != nil {
		return err
	}
	return q.ClearLoginFailures(ctx, loginIdentifiers(u))
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
