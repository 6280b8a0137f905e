package auth

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/store"
)

// maxPreferencesBytes bounds the preferences object a client may store.
const maxPreferencesBytes = 64 << 10

var errWrongPassword = apperr.New(apperr.Forbidden, "invalid_password", "the password is wrong")

// Profile returns the caller's account.
func (a *Accounts) Profile(ctx context.Context, userID uuid.UUID) (User, error) {
	row, err := a.store.Queries().GetUser(ctx, userID)
	if err != nil {
		return User{}, store.MapError(err)
	}
	return userFromRow(row), nil
}

// ProfileChange holds the fields to change; nil leaves a field as it is.
type ProfileChange struct {
	Username    *string
	Preferences map[string]any
}

// UpdateProfile changes the caller's username and/or preferences.
func (a *Accounts) UpdateProfile(ctx context.Context, userID uuid.UUID, c ProfileChange) (User, error) {
	var prefs []byte
	if c.Preferences != nil {
		var err error
		if prefs, err = json.Marshal(c.Preferences); err != nil {
			return User{}, err
		}
		if len(prefs) > maxPreferencesBytes {
			return User{}, apperr.New(apperr.Invalid, "validation_failed", "preferences are larger than 64 KiB").
				WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/preferences", Detail: "at most 64 KiB as JSON"})
		}
	}
	row, err := a.store.Queries().UpdateProfile(ctx, db.UpdateProfileParams{Username: c.Username, Preferences: prefs, Now: a.now(), ID: userID})
	if err != nil {
		err = store.MapError(err)
		if apperr.KindOf(err) == apperr.Conflict {
			return User{}, apperr.Wrap(err, apperr.Conflict, "username_taken", "the username is taken").
				WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/username", Detail: "taken"})
		}
		return User{}, err
	}
	return userFromRow(row), nil
}

// checkPassword locks the user row and verifies its password.
func (a *Accounts) checkPassword(ctx context.Context, q *db.Queries, userID uuid.UUID, password string) (db.User, error) {
	row, err := q.GetUserForUpdate(ctx, userID)
	if err != nil {
		return db.User{}, err
	}
	if !a.passwords.Matches(row.PasswordHash, password) {
		return db.User{}, errWrongPassword
	}
	return row, nil
}

// DeleteProfile removes the account and, by cascade, everything it owns; every session ends.
func (a *Accounts) DeleteProfile(ctx context.Context, p Principal, password string) error {
	now := a.now()
	var families []uuid.UUID
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		admins, err := lockActiveAdmins(ctx, q)
		if err != nil {
			return err
		}
		if _, err := a.checkPassword(ctx, q, p.UserID, password); err != nil {
			return err
		}
		if err := admins.check(p.UserID, false); err != nil {
			return err
		}
		if families, err = q.ListUserRefreshFamilyIDs(ctx, p.UserID); err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{Action: audit.ProfileDelete, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID}); err != nil {
			return err
		}
		_, err = q.DeleteUser(ctx, p.UserID)
		return err
	})
	if err == nil {
		a.revoked.Mark(ctx, families...)
	}
	return a.auditLastAdmin(ctx, err, audit.Event{Action: audit.ProfileDelete, ActorID: p.UserID, SubjectID: p.UserID})
}

// ChangePassword replaces the password and ends every other session of the account.
func (a *Accounts) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	hash, err := a.passwords.Hash(next, "/new_password")
	if err != nil {
		return err
	}
	now := a.now()
	var revoked []uuid.UUID
	err = a.store.InTx(ctx, func(q *db.Queries) error {
		if _, err := a.checkPassword(ctx, q, p.UserID, current); err != nil {
			return err
		}
		if err := q.UpdatePassword(ctx, db.UpdatePasswordParams{PasswordHash: hash, Now: now, ID: p.UserID}); err != nil {
			return err
		}
		if revoked, err = revokeOtherFamilies(ctx, q, p.UserID, p.FamilyID, "password_change", now); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.PasswordChange, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"sessions_ended": len(revoked)}})
	})
	if err == nil {
		a.revoked.Mark(ctx, revoked...)
	}
	return err
}
