package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/freeform"
	"github.com/ccbackend/ccbackend/internal/store"
)

var errWrongPassword = apperr.New(apperr.Forbidden, "invalid_password", "the password is wrong")

// GetProfile returns the caller's account.
func (a *Accounts) GetProfile(ctx context.Context, userID uuid.UUID) (User, error) {
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
		if prefs, err = freeform.Encode(c.Preferences, freeform.Settings, "/preferences"); err != nil {
			return User{}, err
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

// DeleteProfile removes the account and, by cascade, everything it owns; every session ends.
func (a *Accounts) DeleteProfile(ctx context.Context, p Principal, password string) error {
	now := a.now()
	var families []uuid.UUID
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		admins, err := lockActiveAdmins(ctx, q)
		if err != nil {
			return err
		}
		if _, err := a.reauthenticate(ctx, q, p.UserID, password, now); err != nil {
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
	if err != nil {
		err = a.reauthFailed(ctx, p.UserID, audit.ProfileDelete, err, now)
		return a.auditLastAdmin(ctx, err, audit.Event{Action: audit.ProfileDelete, ActorID: p.UserID, SubjectID: p.UserID})
	}
	a.revoked.Mark(ctx, families...)
	a.apiKeys.revoked(ctx, nil, []uuid.UUID{p.UserID})
	return nil
}

// ChangePassword replaces the password and ends every other session of the account and, when
// revokeKeys, every API key (whose stored idempotent responses go too).
func (a *Accounts) ChangePassword(ctx context.Context, p Principal, current, next string, revokeKeys bool) error {
	hash, err := a.passwords.Hash(next, "/new_password")
	if err != nil {
		return err
	}
	now := a.now()
	var revoked []uuid.UUID
	err = a.store.InTx(ctx, func(q *db.Queries) error {
		if _, err := a.reauthenticate(ctx, q, p.UserID, current, now); err != nil {
			return err
		}
		if err := q.UpdatePassword(ctx, db.UpdatePasswordParams{PasswordHash: hash, Now: now, ID: p.UserID}); err != nil {
			return err
		}
		if revoked, err = revokeOtherFamilies(ctx, q, p.UserID, p.FamilyID, "password_change", now); err != nil {
			return err
		}
		var keys []uuid.UUID
		if revokeKeys {
			if keys, err = q.RevokeUserAPIKeys(ctx, db.RevokeUserAPIKeysParams{Now: &now, UserID: p.UserID}); err != nil {
				return err
			}
			if err := q.ForgetAPIKeyResponses(ctx, db.ForgetAPIKeyResponsesParams{UserID: p.UserID, Ids: keys}); err != nil {
				return err
			}
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.PasswordChange, Outcome: audit.Success, ActorID: p.UserID, SubjectID: p.UserID,
			Details: map[string]any{"sessions_ended": len(revoked), "api_keys_revoked": len(keys)}})
	})
	if err != nil {
		return a.reauthFailed(ctx, p.UserID, audit.PasswordChange, err, now)
	}
	a.revoked.Mark(ctx, revoked...)
	if revokeKeys {
		a.apiKeys.revoked(ctx, nil, []uuid.UUID{p.UserID})
	}
	return nil
}
