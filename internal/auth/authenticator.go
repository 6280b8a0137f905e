package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// The security schemes of api/openapi.yaml this authenticator understands.
const (
	SchemeBearer = "bearerAuth"
	SchemeAPIKey = "apiKeyAuth"
	SchemeAdmin  = "adminAuth"
)

var (
	errNoCredentials = apperr.New(apperr.Unauthenticated, "unauthenticated", "valid credentials are required")
	errBadAPIKey     = apperr.New(apperr.Unauthenticated, "invalid_api_key", "the API key is invalid, expired or revoked")
	errRevoked       = apperr.New(apperr.Unauthenticated, "invalid_token", "the access token has been revoked")
)

// Authenticate checks the credentials a request presents for one security scheme of the spec
// and, when the requirement names scopes, that the caller holds those roles. It implements
// httpapi.Authenticator.
func (a *Accounts) Authenticate(ctx context.Context, r *http.Request, scheme string, scopes []string) (Principal, error) {
	var (
		p   Principal
		err error
	)
	switch scheme {
	case SchemeBearer:
		p, err = a.fromBearer(ctx, r)
	case SchemeAPIKey:
		p, err = a.fromAPIKey(ctx, r.Header.Get("X-API-Key"))
	case SchemeAdmin: // any credential, then the role
		if r.Header.Get("X-API-Key") != "" {
			p, err = a.fromAPIKey(ctx, r.Header.Get("X-API-Key"))
		} else {
			p, err = a.fromBearer(ctx, r)
		}
	default:
		err = errNoCredentials
	}
	if err != nil {
		return Principal{}, err
	}
	for _, role := range scopes {
		if !p.HasRole(role) {
			return Principal{}, apperr.New(apperr.Forbidden, "forbidden", "this operation needs the "+role+" role")
		}
	}
	return p, nil
}

func (a *Accounts) fromBearer(ctx context.Context, r *http.Request) (Principal, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Principal{}, errNoCredentials
	}
	// OpenAI SDKs send their API key as a bearer token.
	if strings.HasPrefix(token, "ccb_") {
		return a.fromAPIKey(ctx, token)
	}
	claims, err := a.tokens.Verify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	revoked, err := a.revoked.AccessRevoked(ctx, claims.FamilyID, claims.TokenID)
	if err != nil {
		return Principal{}, err
	}
	if revoked {
		return Principal{}, errRevoked
	}
	return Principal{UserID: claims.UserID, Roles: claims.Roles, FamilyID: claims.FamilyID, TokenID: claims.TokenID, ExpiresAt: claims.ExpiresAt}, nil
}

func (a *Accounts) fromAPIKey(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, "ccb_") {
		return Principal{}, errNoCredentials
	}
	now := a.now()
	q := a.store.Queries()
	key, err := q.FindAPIKey(ctx, db.FindAPIKeyParams{KeyHash: hashSecret(secret), Now: &now})
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, errBadAPIKey
	} else if err != nil {
		return Principal{}, err
	}
	if !key.IsActive {
		return Principal{}, errBadAPIKey
	}
	if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) > lastUsedResolution {
		if err := q.TouchAPIKey(ctx, db.TouchAPIKeyParams{Now: now, ID: key.ID, StaleBefore: now.Add(-lastUsedResolution)}); err != nil {
			return Principal{}, err
		}
	}
	return Principal{UserID: key.UserID, Roles: key.Roles, APIKeyID: key.ID}, nil
}
