package httpapi

import (
	"context"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/page"
)

func optionalTime(t *time.Time) *apitime.Time {
	if t == nil {
		return nil
	}
	v := apitime.New(*t)
	return &v
}

func optionalCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

func apiKeyBody(k auth.APIKey) api.APIKey {
	return api.APIKey{Id: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: apitime.New(k.CreatedAt), ExpiresAt: optionalTime(k.ExpiresAt),
		LastUsedAt: optionalTime(k.LastUsedAt), PreviousSecretValidUntil: optionalTime(k.PreviousValidUntil)}
}

// ListAPIKeys pages through the caller's keys.
func (h *AuthHandlers) ListAPIKeys(ctx context.Context, req api.ListAPIKeysRequestObject) (api.ListAPIKeysResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	body, err := listOf(infallible(apiKeyBody))(h.accounts.ListAPIKeys(ctx, p, h.cursors, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.ListAPIKeys200JSONResponse(body), err
}

// CreateAPIKey creates a key and shows its secret once.
func (h *AuthHandlers) CreateAPIKey(ctx context.Context, req api.CreateAPIKeyRequestObject) (api.CreateAPIKeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var expires *time.Time
	if req.Body.ExpiresAt != nil {
		expires = &req.Body.ExpiresAt.Time
	}
	key, secret, err := h.accounts.CreateAPIKey(ctx, p, req.Body.Name, expires)
	if err != nil {
		return nil, err
	}
	noteCreated(ctx, key.ID)
	return api.CreateAPIKey201JSONResponse{Body: api.APIKeySecret{ApiKey: apiKeyBody(key), Secret: secret}}, nil // headers: noStoreMiddleware
}

// RevokeAPIKey ends a key.
func (h *AuthHandlers) RevokeAPIKey(ctx context.Context, req api.RevokeAPIKeyRequestObject) (api.RevokeAPIKeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.accounts.RevokeAPIKey(ctx, p, req.Id); err != nil {
		return nil, err
	}
	return api.RevokeAPIKey204Response{}, nil
}

// RotateAPIKey replaces a key's secret.
func (h *AuthHandlers) RotateAPIKey(ctx context.Context, req api.RotateAPIKeyRequestObject) (api.RotateAPIKeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	key, secret, err := h.accounts.RotateAPIKey(ctx, p, req.Id)
	if err != nil {
		return nil, err
	}
	noteCreated(ctx, key.ID)
	return api.RotateAPIKey200JSONResponse{Body: api.APIKeySecret{ApiKey: apiKeyBody(key), Secret: secret}}, nil // headers: noStoreMiddleware
}
