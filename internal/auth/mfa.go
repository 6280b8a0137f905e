package auth

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/secret"
)

// The ways a login or a re-authentication proves who the user is, as the API names them.
const (
	MethodPassword     = "password"
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
	MethodPasskey      = "passkey"
)

// amrValues are the RFC 8176 `amr` values of each method ("rec" is ours: RFC 8176 has none for
// recovery codes). A sign-in with two factors also carries "mfa".
var amrValues = map[string]string{MethodPassword: "pwd", MethodTOTP: "otp", MethodRecoveryCode: "rec", MethodPasskey: "hwk"}

// signIn is how and when a login authenticated: the access token's auth_time and amr, kept on the
// refresh family so that refreshes carry them on and re-authentication moves them forward.
type signIn struct {
	At  time.Time
	AMR []string
}

func passwordSignIn(at time.Time) signIn {
	return signIn{At: at, AMR: []string{amrValues[MethodPassword]}}
}

// secondFactorSignIn is a password sign-in completed by method.
func secondFactorSignIn(method string, at time.Time) signIn {
	return signIn{At: at, AMR: []string{amrValues[MethodPassword], amrValues[method], "mfa"}}
}

// MFATokenTTL is how long a password sign-in waits for its second factor.
const MFATokenTTL = 5 * time.Minute

// DefaultStepUpMaxAge is how recent a sign-in a critical operation needs when none is configured.
const DefaultStepUpMaxAge = 10 * time.Minute

// TOTPSecretsPurpose names the key (derived from CCB_SECRET_KEY) that seals TOTP secrets.
const TOTPSecretsPurpose = "totp"

// MFASettings configure multi-factor authentication.
type MFASettings struct {
	Box          *secret.Box   // seals TOTP secrets
	StepUpMaxAge time.Duration // how recent a sign-in critical operations need (0: DefaultStepUpMaxAge)
	Issuer       string        // the issuer the authenticator app shows ("" : "ccbackend")
}

// PasskeyCounter tells whether a user has registered a passkey (the passkey service implements
// it), so that passkeys count as MFA and are offered as a method.
type PasskeyCounter interface {
	HasPasskey(ctx context.Context, userID uuid.UUID) (bool, error)
}

// WithMFA turns multi-factor authentication on for the service and returns it.
func (a *Accounts) WithMFA(s MFASettings) *Accounts {
	if s.StepUpMaxAge <= 0 {
		s.StepUpMaxAge = DefaultStepUpMaxAge
	}
	if s.Issuer == "" {
		s.Issuer = "ccbackend"
	}
	a.mfa = s
	return a
}

// WithPasskeys lets passkeys count as a second factor and returns the service.
func (a *Accounts) WithPasskeys(p PasskeyCounter) *Accounts {
	a.passkeys = p
	return a
}

var errMFAOff = apperr.New(apperr.Unavailable, "mfa_unavailable", "multi-factor authentication is not configured")

// totpBox is the box sealing TOTP secrets, or an error when MFA is not configured.
func (a *Accounts) totpBox() (*secret.Box, error) {
	if a.mfa.Box == nil {
		return nil, errMFAOff
	}
	return a.mfa.Box, nil
}

// secondFactors are the methods that can complete a password sign-in of userID; none: no MFA.
func (a *Accounts) secondFactors(ctx context.Context, userID uuid.UUID) ([]string, error) {
	var out []string
	totp, err := a.store.Queries().HasActiveTOTP(ctx, userID)
	if err != nil {
		return nil, err
	}
	if totp {
		out = append(out, MethodTOTP, MethodRecoveryCode)
	}
	if a.passkeys != nil {
		has, err := a.passkeys.HasPasskey(ctx, userID)
		if err != nil {
			return nil, err
		}
		if has {
			out = append(out, MethodPasskey)
		}
	}
	return out, nil
}

// HasMFA reports whether the user has TOTP or a passkey enrolled (step-up applies only then).
func (a *Accounts) HasMFA(ctx context.Context, userID uuid.UUID) (bool, error) {
	methods, err := a.secondFactors(ctx, userID)
	return len(methods) > 0, err
}

// signInClaims reads auth_time and amr from a verified token; both are absent from tokens issued
// before they existed, which then count as authenticated at the epoch (never recent).
func signInClaims(tok jwt.Token) (time.Time, []string) {
	var at time.Time
	if raw, ok := tok.Get("auth_time"); ok {
		switch v := raw.(type) {
		case float64:
			at = time.Unix(int64(v), 0).UTC()
		case json.Number:
			if n, err := v.Int64(); err == nil {
				at = time.Unix(n, 0).UTC()
			}
		case int64:
			at = time.Unix(v, 0).UTC()
		}
	}
	var amr []string
	if raw, ok := tok.Get("amr"); ok {
		list, _ := raw.([]any)
		for _, m := range list {
			if s, ok := m.(string); ok {
				amr = append(amr, s)
			}
		}
	}
	return at, amr
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
