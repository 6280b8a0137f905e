// Package auth authenticates callers and carries the authenticated caller through a request.
package auth

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID   uuid.UUID
	Roles    []string
	APIKeyID uuid.UUID // zero unless the caller used an API key
	FamilyID uuid.UUID // refresh family of the access token; zero for API keys
	TokenID  string    // jti of the access token; empty for API keys
	// ExpiresAt is when the access token expires (zero for API keys).
	ExpiresAt time.Time
	// AuthTime is when the session last authenticated (zero for API keys); step-up reads it.
	AuthTime time.Time
	AMR      []string // how it did (the access token's amr)
}

// HasRole reports whether the caller holds role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller that ctx carries.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
