package auth

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
)

// errLastAdmin refuses a change that would leave the service with no active administrator, and
// so nobody able to unlock, re-enable or promote anyone again.
var errLastAdmin = apperr.New(apperr.Conflict, "last_admin", "this would leave no active administrator")

// activeAdmins are the active administrators, locked for the rest of the transaction.
type activeAdmins []uuid.UUID

// lockActiveAdmins must come before any other user-row lock in the transaction, so that every
// change guarded this way takes its locks in the same order.
func lockActiveAdmins(ctx context.Context, q *db.Queries) (activeAdmins, error) {
	ids, err := q.LockActiveAdmins(ctx)
	return activeAdmins(ids), err
}

// check refuses the change when target is the only active administrator and will not be one
// after it.
func (s activeAdmins) check(target uuid.UUID, remainsAdmin bool) error {
	if remainsAdmin || len(s) > 1 || !slices.Contains(s, target) {
		return nil
	}
	return errLastAdmin
}

// remainsAdmin reports whether a user with these roles and status is an active administrator.
func remainsAdmin(roles []string, active bool) bool {
	return active && slices.Contains(roles, "admin")
}

// auditLastAdmin records a refusal for the last administrator in its own transaction (the
// refused one rolled back) and passes err on; other errors pass through untouched.
func (a *Accounts) auditLastAdmin(ctx context.Context, err error, ev audit.Event) error {
	if !errors.Is(err, errLastAdmin) {
		return err
	}
	ev.Outcome = audit.Failure
	if ev.Details == nil {
		ev.Details = map[string]any{}
	}
	ev.Details["reason"] = "last_admin"
	if aerr := a.store.InTx(ctx, func(q *db.Queries) error { return audit.Record(ctx, q, a.now(), ev) }); aerr != nil {
		return aerr
	}
	return err
}
