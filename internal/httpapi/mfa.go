package httpapi

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
)

// Multi-factor authentication and step-up handlers (tag auth). The Cache-Control/Pragma headers of
// the secret-bearing answers come from noStoreMiddleware.

// loginBody is the login answer: the token pair, or the pending second step.
func loginBody(r auth.LoginResult) (api.LoginResult, error) {
	var out api.LoginResult
	if r.MFA == nil {
		return out, out.FromAuthTokens(tokensBody(r.Tokens))
	}
	methods := make([]api.MFAMethod, len(r.MFA.Methods))
	for i, m := range r.MFA.Methods {
		methods[i] = api.MFAMethod(m)
	}
	return out, out.FromMFARequired(api.MFARequired{MfaRequired: api.MFARequiredMfaRequiredTrue, MfaToken: r.MFA.Token,
		Methods: methods, ExpiresIn: r.MFA.ExpiresIn})
}

// EnrollTOTP starts a TOTP enrolment.
func (h *AuthHandlers) EnrollTOTP(ctx context.Context, _ api.EnrollTOTPRequestObject) (api.EnrollTOTPResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := h.accounts.EnrollTOTP(ctx, p)
	if err != nil {
		return nil, err
	}
	return api.EnrollTOTP201JSONResponse{Body: api.TOTPEnrollment{Secret: e.Secret, OtpauthUrl: e.URL}}, nil
}

// VerifyTOTP activates the pending enrolment and returns the recovery codes.
func (h *AuthHandlers) VerifyTOTP(ctx context.Context, req api.VerifyTOTPRequestObject) (api.VerifyTOTPResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	codes, err := h.accounts.VerifyTOTP(ctx, p, req.Body.Code)
	if err != nil {
		return nil, err
	}
	return api.VerifyTOTP200JSONResponse{Body: api.RecoveryCodes{RecoveryCodes: codes}}, nil
}

// DisableTOTP turns TOTP off (the step-up middleware has checked the sign-in is recent).
func (h *AuthHandlers) DisableTOTP(ctx context.Context, _ api.DisableTOTPRequestObject) (api.DisableTOTPResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.accounts.DisableTOTP(ctx, p); err != nil {
		return nil, err
	}
	return api.DisableTOTP204Response{}, nil
}

// RegenerateRecoveryCodes replaces the recovery codes.
func (h *AuthHandlers) RegenerateRecoveryCodes(ctx context.Context, _ api.RegenerateRecoveryCodesRequestObject) (api.RegenerateRecoveryCodesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	codes, err := h.accounts.RegenerateRecoveryCodes(ctx, p)
	if err != nil {
		return nil, err
	}
	return api.RegenerateRecoveryCodes200JSONResponse{Body: api.RecoveryCodes{RecoveryCodes: codes}}, nil
}

// CompleteMFAChallenge finishes a password sign-in with its second factor.
func (h *AuthHandlers) CompleteMFAChallenge(ctx context.Context, req api.CompleteMFAChallengeRequestObject) (api.CompleteMFAChallengeResponseObject, error) {
	b := req.Body
	pair, err := h.accounts.CompleteMFAChallenge(ctx, b.MfaToken, auth.SecondFactor{TOTPCode: orEmpty(b.TotpCode), RecoveryCode: orEmpty(b.RecoveryCode)})
	if err != nil {
		return nil, err
	}
	return api.CompleteMFAChallenge200JSONResponse{Body: tokensBody(pair)}, nil
}

// errPasskeyReauth answers the passkey branch until the passkey service verifies assertions.
var errPasskeyReauth = apperr.New(apperr.Unprocessable, "passkey_unavailable", "re-authentication with a passkey is not available yet; use a password or a code").
	WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/passkey", Detail: "not available yet"})

// passkeyProof carries the passkey branch out of reauthProof to the passkey service.
type passkeyProof struct{ raw json.RawMessage }

func (passkeyProof) Error() string { return "passkey proof" }

// Reauthenticate refreshes the caller's auth_time after a fresh proof.
func (h *AuthHandlers) Reauthenticate(ctx context.Context, req api.ReauthenticateRequestObject) (api.ReauthenticateResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var pair auth.TokenPair
	proof, err := reauthProof(*req.Body)
	var passkey passkeyProof
	switch {
	case errors.As(err, &passkey):
		pair, err = h.reauthenticateWithPasskey(ctx, p, passkey.raw)
	case err == nil:
		pair, err = h.accounts.Reauthenticate(ctx, p, proof)
	}
	if err != nil {
		return nil, err
	}
	return api.Reauthenticate200JSONResponse{Body: tokensBody(pair)}, nil
}

// reauthProof reads the one branch the validator let through (the branches' required members
// tell them apart).
func reauthProof(body api.ReauthenticateRequest) (auth.Proof, error) {
	raw, err := body.MarshalJSON()
	if err != nil {
		return auth.Proof{}, err
	}
	var members struct {
		Password     *string         `json:"password"`
		TOTPCode     *string         `json:"totp_code"`
		RecoveryCode *string         `json:"recovery_code"`
		Passkey      json.RawMessage `json:"passkey"`
	}
	if err := json.Unmarshal(raw, &members); err != nil {
		return auth.Proof{}, err
	}
	switch {
	case members.Passkey != nil:
		return auth.Proof{}, passkeyProof{raw: members.Passkey}
	case members.Password != nil:
		return auth.Proof{Password: *members.Password}, nil
	}
	return auth.Proof{SecondFactor: auth.SecondFactor{TOTPCode: orEmpty(members.TOTPCode), RecoveryCode: orEmpty(members.RecoveryCode)}}, nil
}
