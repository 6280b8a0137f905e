package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

var errExpired = apperr.New(apperr.Unauthenticated, "invalid_token", "the access token has expired")

// StillValid reports (nil) whether the credentials that authenticated p still would: an access
// token not expired and not revoked (logout, family revocation), an API key not revoked or
// expired. Long-lived connections (the event feed) call it periodically, so a revocation ends
// them too.
func (a *Accounts) StillValid(ctx context.Context, p Principal) error {
	switch {
	case p.TokenID != "":
		if !p.ExpiresAt.IsZero() && !a.now().Before(p.ExpiresAt) {
			return errExpired
		}
		revoked, err := a.revoked.AccessRevoked(ctx, p.FamilyID, p.TokenID)
		if err != nil {
			return err
		}
		if revoked {
			return errRevoked
		}
		return nil
	case p.APIKeyID != uuid.Nil:
		now := a.now()
		ok, err := a.store.Queries().APIKeyStillActive(ctx, db.APIKeyStillActiveParams{ID: p.APIKeyID, Now: &now})
		if err != nil {
			return err
		}
		if !ok {
			return errBadAPIKey
		}
		return nil
	}
	return errNoCredentials
}
