package httpapi

import (
	"context"
	"encoding/json"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/page"
)

// PasskeyHandlers serve the passkey operations of the `auth` tag: WebAuthn registration and
// sign-in, the caller's passkey list, and the app association files under /.well-known.
type PasskeyHandlers struct {
	passkeys *auth.Passkeys
	cursors  *page.Cursors
	apps     AppAssociations
}

// NewPasskeyHandlers returns the passkey handlers.
func NewPasskeyHandlers(passkeys *auth.Passkeys, cursors *page.Cursors, apps AppAssociations) *PasskeyHandlers {
	return &PasskeyHandlers{passkeys: passkeys, cursors: cursors, apps: apps}
}

func passkeyBody(p auth.Passkey) api.Passkey {
	transports := p.Transports
	if transports == nil {
		transports = []string{}
	}
	return api.Passkey{Id: p.ID, Name: p.Name, CreatedAt: apitime.New(p.CreatedAt), LastUsedAt: optionalTime(p.LastUsedAt),
		BackupEligible: p.BackupEligible, BackedUp: p.BackedUp, Transports: transports}
}

func ceremonyBody(c auth.Ceremony) api.PasskeyCeremony {
	ttl := int(auth.CeremonyTTL.Seconds())
	return api.PasskeyCeremony{CeremonyId: c.ID, Options: c.Options, ExpiresIn: &ttl}
}

// ListPasskeys pages through the caller's passkeys.
func (h *PasskeyHandlers) ListPasskeys(ctx context.Context, req api.ListPasskeysRequestObject) (api.ListPasskeysResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	body, err := listOf(infallible(passkeyBody))(h.passkeys.ListPasskeys(ctx, p, h.cursors, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.ListPasskeys200JSONResponse(body), err
}

// BeginPasskeyRegistration starts registering a passkey for the caller.
func (h *PasskeyHandlers) BeginPasskeyRegistration(ctx context.Context, _ api.BeginPasskeyRegistrationRequestObject) (api.BeginPasskeyRegistrationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := h.passkeys.BeginRegistration(ctx, p)
	if err != nil {
		return nil, err
	}
	return api.BeginPasskeyRegistration200JSONResponse{Body: ceremonyBody(c)}, nil // headers: noStoreMiddleware
}

// FinishPasskeyRegistration verifies the authenticator's response and stores the passkey.
func (h *PasskeyHandlers) FinishPasskeyRegistration(ctx context.Context, req api.FinishPasskeyRegistrationRequestObject) (api.FinishPasskeyRegistrationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	pk, err := h.passkeys.FinishRegistration(ctx, p, req.Body.CeremonyId, req.Body.Credential, orEmpty(req.Body.Name))
	if err != nil {
		return nil, err
	}
	return api.FinishPasskeyRegistration201JSONResponse(passkeyBody(pk)), nil
}

// BeginPasskeyLogin starts a usernameless passkey sign-in.
func (h *PasskeyHandlers) BeginPasskeyLogin(ctx context.Context, req api.BeginPasskeyLoginRequestObject) (api.BeginPasskeyLoginResponseObject, error) {
	var mfaToken string
	if req.Body != nil {
		mfaToken = orEmpty(req.Body.MfaToken)
	}
	c, err := h.passkeys.BeginLogin(ctx, mfaToken)
	if err != nil {
		return nil, err
	}
	return api.BeginPasskeyLogin200JSONResponse{Body: ceremonyBody(c)}, nil // headers: noStoreMiddleware
}

// FinishPasskeyLogin verifies the assertion and answers a token pair.
func (h *PasskeyHandlers) FinishPasskeyLogin(ctx context.Context, req api.FinishPasskeyLoginRequestObject) (api.FinishPasskeyLoginResponseObject, error) {
	b := req.Body
	pair, err := h.passkeys.FinishLogin(ctx, b.CeremonyId, b.Credential, clientType(b.ClientType), orEmpty(b.MfaToken))
	if err != nil {
		return nil, err
	}
	return api.FinishPasskeyLogin200JSONResponse{Body: tokensBody(pair)}, nil // headers: noStoreMiddleware
}

// RenamePasskey renames one of the caller's passkeys.
func (h *PasskeyHandlers) RenamePasskey(ctx context.Context, req api.RenamePasskeyRequestObject) (api.RenamePasskeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	pk, err := h.passkeys.RenamePasskey(ctx, p, req.Id, req.Body.Name)
	if err != nil {
		return nil, err
	}
	return api.RenamePasskey200JSONResponse(passkeyBody(pk)), nil
}

// DeletePasskey removes one of the caller's passkeys.
func (h *PasskeyHandlers) DeletePasskey(ctx context.Context, req api.DeletePasskeyRequestObject) (api.DeletePasskeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.passkeys.DeletePasskey(ctx, p, req.Id); err != nil {
		return nil, err
	}
	return api.DeletePasskey204Response{}, nil
}

// WithPasskeys lets POST /v1/auth/reauthenticate accept a passkey assertion.
func (h *AuthHandlers) WithPasskeys(p *auth.Passkeys) *AuthHandlers {
	h.passkeys = p
	return h
}

// reauthenticateWithPasskey is the passkey branch of POST /v1/auth/reauthenticate.
func (h *AuthHandlers) reauthenticateWithPasskey(ctx context.Context, p auth.Principal, raw json.RawMessage) (auth.TokenPair, error) {
	var b struct {
		CeremonyID string          `json:"ceremony_id"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || h.passkeys == nil {
		return auth.TokenPair{}, errPasskeyReauth
	}
	return h.passkeys.Reauthenticate(ctx, p, b.CeremonyID, b.Credential)
}
