package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/page"
)

// AdminHandlers serve the `admin` tag; the spec's adminAuth requirement admits only admins.
type AdminHandlers struct {
	accounts *auth.Accounts
	cursors  *page.Cursors
}

// NewAdminHandlers returns the admin handlers.
func NewAdminHandlers(accounts *auth.Accounts, cursors *page.Cursors) *AdminHandlers {
	return &AdminHandlers{accounts: accounts, cursors: cursors}
}

func adminUserBody(u auth.User) api.AdminUser {
	b := userBody(u)
	return api.AdminUser{Id: b.Id, Email: b.Email, Username: b.Username, Roles: b.Roles, IsActive: b.IsActive,
		Preferences: b.Preferences, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, LockedUntil: optionalTime(u.LockedUntil)}
}

// AdminListUsers pages through users.
func (h *AdminHandlers) AdminListUsers(ctx context.Context, req api.AdminListUsersRequestObject) (api.AdminListUsersResponseObject, error) {
	actor, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	body, err := listOf(infallible(adminUserBody))(h.accounts.AdminListUsers(ctx, actor, h.cursors, req.Params.Email, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.AdminListUsers200JSONResponse(body), err
}

// AdminUpdateUser changes roles or status, or unlocks a user.
func (h *AdminHandlers) AdminUpdateUser(ctx context.Context, req api.AdminUpdateUserRequestObject) (api.AdminUpdateUserResponseObject, error) {
	actor, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	change := auth.UserChange{IsActive: req.Body.IsActive, Unlock: req.Body.Unlock != nil && *req.Body.Unlock}
	if req.Body.Roles != nil {
		for _, r := range *req.Body.Roles {
			change.Roles = append(change.Roles, string(r))
		}
	}
	u, err := h.accounts.AdminUpdateUser(ctx, actor, req.Id, change)
	if err != nil {
		return nil, err
	}
	return api.AdminUpdateUser200JSONResponse(adminUserBody(u)), nil
}

// AdminListAuditLog pages through the audit log.
func (h *AdminHandlers) AdminListAuditLog(ctx context.Context, req api.AdminListAuditLogRequestObject) (api.AdminListAuditLogResponseObject, error) {
	p := req.Params
	f := auth.AuditFilter{UserID: p.UserId}
	if p.Action != nil {
		a := string(*p.Action)
		f.Action = &a
	}
	if p.Since != nil {
		f.Since = &p.Since.Time
	}
	if p.Until != nil {
		f.Until = &p.Until.Time
	}
	actor, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	body, err := listOf(infallible(auditEntryBody))(h.accounts.AdminListAuditLog(ctx, actor, h.cursors, f, page.Params(p.Limit, p.Cursor)))
	return api.AdminListAuditLog200JSONResponse(body), err
}

func auditEntryBody(e auth.AuditEntry) api.AuditEntry {
	return api.AuditEntry{Id: e.ID, OccurredAt: apitime.New(e.OccurredAt), Action: api.AuditAction(e.Action),
		Outcome: api.AuditEntryOutcome(e.Outcome), ActorId: e.ActorID, SubjectId: e.SubjectID, Ip: e.IP,
		UserAgent: e.UserAgent, RequestId: e.RequestID, Details: e.Details}
}
