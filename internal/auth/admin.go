package auth

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// AdminListUsers pages through all users, oldest first, optionally by email prefix; cursors are
// bound to the administrator asking.
func (a *Accounts) AdminListUsers(ctx context.Context, actor Principal, cursors *page.Cursors, emailPrefix *string, req page.Request) (page.Page[User], error) {
	var prefix *string
	if emailPrefix != nil {
		p := store.EscapeLike(strings.ToLower(*emailPrefix))
		prefix = &p
	}
	now := a.now()
	return page.Fetch(ctx, cursors, page.List[db.ListUsersRow, page.TimeID]{
		Name: "admin_users", Owner: actor.UserID, Filter: prefix,
		Fetch: func(ctx context.Context, after *page.TimeID, limit int32) ([]db.ListUsersRow, error) {
			at, id := after.Split()
			return a.store.Queries().ListUsers(ctx, db.ListUsersParams{Now: now, EmailPrefix: prefix, AfterCreated: at, AfterID: id, MaxRows: limit})
		},
		Position: func(r db.ListUsersRow) page.TimeID { return page.At(r.CreatedAt, r.ID) },
		Size: func(r db.ListUsersRow) int {
			return page.ItemOverhead + len(r.Email) + page.TextLen(r.Username) + len(r.Preferences)
		},
	}, req, adminUserFromRow)
}

func adminUserFromRow(r db.ListUsersRow) User {
	u := userFromRow(db.User{ID: r.ID, Email: r.Email, Username: r.Username, Roles: r.Roles, IsActive: r.IsActive,
		Preferences: r.Preferences, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
	if t, ok := r.LockedUntil.(time.Time); ok { // NULL unless a lockout is in force
		u.LockedUntil = &t
	}
	return u
}

// UserChange is an administrator's edit of a user; nil fields stay as they are.
type UserChange struct {
	Roles    []string
	IsActive *bool
	Unlock   bool
}

// AdminUpdateUser applies an administrator's change. Role and status changes end the user's
// sessions, so a demoted or disabled user loses access at once rather than at token expiry.
func (a *Accounts) AdminUpdateUser(ctx context.Context, actor Principal, id uuid.UUID, c UserChange) (User, error) {
	now := a.now()
	var (
		user    User
		revoked []uuid.UUID
	)
	err := a.store.InTx(ctx, func(q *db.Queries) error {
		var admins activeAdmins
		if c.Roles != nil || c.IsActive != nil {
			var err error
			if admins, err = lockActiveAdmins(ctx, q); err != nil {
				return err
			}
		}
		before, err := q.GetUserForUpdate(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.New(apperr.NotFound, "not_found", "no such user")
		} else if err != nil {
			return err
		}
		roles, active := before.Roles, before.IsActive
		if c.Roles != nil {
			roles = c.Roles
		}
		if c.IsActive != nil {
			active = *c.IsActive
		}
		if err := admins.check(id, remainsAdmin(roles, active)); err != nil {
			return err
		}
		row, err := q.AdminUpdateUser(ctx, db.AdminUpdateUserParams{Roles: c.Roles, IsActive: c.IsActive, Now: now, ID: id})
		if err != nil {
			return err
		}
		if c.Unlock {
			if err := clearFailures(ctx, q, row); err != nil {
				return err
			}
		}
		rolesChanged := c.Roles != nil && !sameRoles(before.Roles, row.Roles)
		statusChanged := before.IsActive != row.IsActive
		if rolesChanged || statusChanged {
			if revoked, err = revokeOtherFamilies(ctx, q, id, uuid.Nil, "admin_update", now); err != nil {
				return err
			}
		}
		user = userFromRow(row)
		if user.LockedUntil, err = q.GetUserLockout(ctx, db.GetUserLockoutParams{UserID: id, Now: now}); errors.Is(err, pgx.ErrNoRows) {
			user.LockedUntil, err = nil, nil
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: audit.AdminUserEdit, Outcome: audit.Success, ActorID: actor.UserID, SubjectID: id,
			Details: map[string]any{"roles": row.Roles, "is_active": row.IsActive, "unlock": c.Unlock, "sessions_ended": len(revoked)}})
	})
	if err == nil {
		a.revoked.Mark(ctx, revoked...)
		if c.Roles != nil || c.IsActive != nil { // cached keys carry the roles and assume an active user
			a.apiKeys.revoked(ctx, nil, []uuid.UUID{id})
		}
	}
	return user, a.auditLastAdmin(ctx, err, audit.Event{Action: audit.AdminUserEdit, ActorID: actor.UserID, SubjectID: id,
		Details: map[string]any{"roles": c.Roles, "is_active": c.IsActive}})
}

func sameRoles(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID         int64
	OccurredAt time.Time
	Action     string
	Outcome    string
	ActorID    *uuid.UUID
	SubjectID  *uuid.UUID
	IP         *string
	UserAgent  *string
	RequestID  *string
	Details    map[string]any
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	UserID       *uuid.UUID
	Action       *string
	Since, Until *time.Time
}

type auditPosition struct {
	ID int64 `json:"i"`
}

// AdminListAuditLog pages through the audit log, newest first; cursors are bound to the administrator
// asking and to the filter.
func (a *Accounts) AdminListAuditLog(ctx context.Context, actor Principal, cursors *page.Cursors, f AuditFilter, req page.Request) (page.Page[AuditEntry], error) {
	return page.Fetch(ctx, cursors, page.List[db.AuditLog, auditPosition]{
		Name: "audit", Owner: actor.UserID, Filter: f,
		Fetch: func(ctx context.Context, after *auditPosition, limit int32) ([]db.AuditLog, error) {
			params := db.ListAuditEntriesParams{UserID: f.UserID, Action: f.Action, Since: f.Since, Until: f.Until, MaxRows: limit}
			if after != nil {
				params.BeforeID = &after.ID
			}
			return a.store.Queries().ListAuditEntries(ctx, params)
		},
		Position: func(r db.AuditLog) auditPosition { return auditPosition{r.ID} },
		Size:     func(r db.AuditLog) int { return page.ItemOverhead + len(r.Details) },
	}, req, auditEntryFromRow)
}

func auditEntryFromRow(r db.AuditLog) AuditEntry {
	details := map[string]any{}
	_ = json.Unmarshal(r.Details, &details)
	return AuditEntry{ID: r.ID, OccurredAt: r.OccurredAt, Action: r.Action, Outcome: r.Outcome, ActorID: r.ActorID,
		SubjectID: r.SubjectID, IP: r.Ip, UserAgent: r.UserAgent, RequestID: r.RequestID, Details: details}
}
