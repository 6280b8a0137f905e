package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/page"
)

// AuthHandlers serve the `auth` tag: accounts, tokens, profile and API keys.
type AuthHandlers struct {
	accounts *auth.Accounts
	keys     *auth.KeyRing
	cursors  *page.Cursors
	passkeys *auth.Passkeys // the passkey branch of reauthenticate; nil: refused
}

// NewAuthHandlers returns the auth handlers.
func NewAuthHandlers(accounts *auth.Accounts, keys *auth.KeyRing, cursors *page.Cursors) *AuthHandlers {
	return &AuthHandlers{accounts: accounts, keys: keys, cursors: cursors}
}

// principal is the caller the validator authenticated; operations reach here only with one.
func principal(ctx context.Context) (auth.Principal, error) {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return p, nil
	}
	return auth.Principal{}, apperr.New(apperr.Unauthenticated, "unauthenticated", "valid credentials are required")
}

func userBody(u auth.User) api.User {
	roles := make([]api.Role, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = api.Role(r)
	}
	return api.User{Id: u.ID, Email: u.Email, Username: u.Username, Roles: roles, IsActive: u.IsActive,
		Preferences: u.Preferences, CreatedAt: apitime.New(u.CreatedAt), UpdatedAt: apitime.New(u.UpdatedAt)}
}

func tokensBody(t auth.TokenPair) api.AuthTokens {
	tokenType := api.AuthTokensTokenTypeBearer
	if t.TokenType == auth.TokenTypeDPoP {
		tokenType = api.AuthTokensTokenTypeDPoP
	}
	return api.AuthTokens{User: userBody(t.User), AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		TokenType: tokenType, ExpiresIn: t.ExpiresIn}
}

func clientType(ct *api.ClientType) string {
	if ct == nil {
		return ""
	}
	return string(*ct)
}

// GetJWKS publishes the keys that verify access tokens.
func (h *AuthHandlers) GetJWKS(context.Context, api.GetJWKSRequestObject) (api.GetJWKSResponseObject, error) {
	keys := h.keys.PublicKeys()
	body := api.JWKS{Keys: make([]api.JWK, len(keys))}
	for i, k := range keys {
		body.Keys[i] = api.JWK{Kty: api.JWKKtyRSA, Kid: k.Kid, Use: api.JWKUseSig, Alg: api.JWKAlgRS256, N: k.N, E: k.E}
	}
	return api.GetJWKS200JSONResponse(body), nil
}

// Register creates an account.
func (h *AuthHandlers) Register(ctx context.Context, req api.RegisterRequestObject) (api.RegisterResponseObject, error) {
	b := req.Body
	pair, err := h.accounts.Register(ctx, auth.Registration{Email: string(b.Email), Password: b.Password, Username: b.Username, ClientType: clientType(b.ClientType)})
	if err != nil {
		return nil, err
	}
	return api.Register201JSONResponse{Body: tokensBody(pair)}, nil // headers: noStoreMiddleware
}

// Login signs in from JSON or from the OAuth2 password grant form.
func (h *AuthHandlers) Login(ctx context.Context, req api.LoginRequestObject) (api.LoginResponseObject, error) {
	var identifier, password, client string
	switch {
	case req.JSONBody != nil:
		b := req.JSONBody
		if (b.Email == nil) == (b.Username == nil) {
			return nil, apperr.New(apperr.Invalid, "validation_failed", "send exactly one of email or username").
				WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/email", Detail: "exactly one of email or username"})
		}
		identifier, password, client = orEmpty(b.Email)+orEmpty(b.Username), b.Password, clientType(b.ClientType)
	case req.FormdataBody != nil:
		identifier, password = req.FormdataBody.Username, req.FormdataBody.Password
	default:
		return nil, apperr.New(apperr.Invalid, "validation_failed", "a body is required")
	}
	result, err := h.accounts.Login(ctx, identifier, password, client)
	if err != nil {
		return nil, err
	}
	body, err := loginBody(result)
	if err != nil {
		return nil, err
	}
	return api.Login200JSONResponse{Body: body}, nil // headers: noStoreMiddleware
}

// RefreshTokens exchanges a refresh token.
func (h *AuthHandlers) RefreshTokens(ctx context.Context, req api.RefreshTokensRequestObject) (api.RefreshTokensResponseObject, error) {
	pair, err := h.accounts.RefreshTokens(ctx, req.Body.RefreshToken)
	if err != nil {
		return nil, err
	}
	return api.RefreshTokens200JSONResponse{Body: tokensBody(pair)}, nil // headers: noStoreMiddleware
}

// Logout ends the caller's session.
func (h *AuthHandlers) Logout(ctx context.Context, _ api.LogoutRequestObject) (api.LogoutResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.accounts.Logout(ctx, p); err != nil {
		return nil, err
	}
	return api.Logout204Response{}, nil
}

// GetProfile returns the caller's account.
func (h *AuthHandlers) GetProfile(ctx context.Context, _ api.GetProfileRequestObject) (api.GetProfileResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	u, err := h.accounts.GetProfile(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return api.GetProfile200JSONResponse(userBody(u)), nil
}

// UpdateProfile changes username or preferences.
func (h *AuthHandlers) UpdateProfile(ctx context.Context, req api.UpdateProfileRequestObject) (api.UpdateProfileResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	change := auth.ProfileChange{Username: req.Body.Username}
	if req.Body.Preferences != nil {
		change.Preferences = *req.Body.Preferences
	}
	u, err := h.accounts.UpdateProfile(ctx, p.UserID, change)
	if err != nil {
		return nil, err
	}
	return api.UpdateProfile200JSONResponse(userBody(u)), nil
}

// DeleteProfile removes the account after a password confirmation.
func (h *AuthHandlers) DeleteProfile(ctx context.Context, req api.DeleteProfileRequestObject) (api.DeleteProfileResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.accounts.DeleteProfile(ctx, p, req.Body.Password); err != nil {
		return nil, err
	}
	return api.DeleteProfile204Response{}, nil
}

// ChangePassword replaces the password (and by default revokes the API keys).
func (h *AuthHandlers) ChangePassword(ctx context.Context, req api.ChangePasswordRequestObject) (api.ChangePasswordResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	revokeKeys := req.Body.RevokeApiKeys == nil || *req.Body.RevokeApiKeys // the spec's default: true
	if err := h.accounts.ChangePassword(ctx, p, req.Body.CurrentPassword, req.Body.NewPassword, revokeKeys); err != nil {
		return nil, err
	}
	return api.ChangePassword204Response{}, nil
}
