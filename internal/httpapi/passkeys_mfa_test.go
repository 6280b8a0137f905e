package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestPasskeyAsSecondFactor: a passkey makes the account's password sign-in ask for a second
// factor, offers `passkey`, and completes it with that user's passkey only.
func TestPasskeyAsSecondFactor(t *testing.T) {
	s := testutil.NewServer(t)
	u := s.Register(t, "pk-mfa@example.com")
	key := newSoftKey(virtualwebauthn.AuthenticatorOptions{})
	registerPasskey(t, s, u, key)
	other := s.Register(t, "pk-mfa-other@example.com")
	otherKey := newSoftKey(virtualwebauthn.AuthenticatorOptions{})
	registerPasskey(t, s, other, otherKey)

	pending := func() api.MFARequired {
		resp, raw := login(t, s, u.Email, u.Password)
		m := decodeInto[api.MFARequired](t, resp, raw, http.StatusOK)
		if !slices.Contains(m.Methods, api.MFAMethod("passkey")) || m.MfaToken == "" || strings.Contains(string(raw), "access_token") {
			t.Fatalf("password login of a passkey holder = %s", raw)
		}
		return m
	}
	begin := func(mfaToken string) api.PasskeyCeremony {
		resp, raw := s.Do(t, http.MethodPost, "/v1/auth/passkeys/login/begin", fmt.Sprintf(`{"mfa_token":%q}`, mfaToken), nil)
		return decodeInto[api.PasskeyCeremony](t, resp, raw, http.StatusOK)
	}
	finish := func(c api.PasskeyCeremony, k *softKey, mfaToken string) (*http.Response, []byte) {
		body := fmt.Sprintf(`{"ceremony_id":%q,"credential":%s,"mfa_token":%q}`, c.CeremonyId, k.assert(t, c), mfaToken)
		return s.Do(t, http.MethodPost, "/v1/auth/passkeys/login/finish", body, nil)
	}

	// Another user's passkey does not complete this sign-in, even on a discoverable ceremony.
	m := pending()
	resp, raw := finish(beginPasskeyLogin(t, s), otherKey, m.MfaToken)
	decodeProblem(t, resp, raw, http.StatusUnauthorized)

	c := begin(m.MfaToken)
	if !strings.Contains(string(c.Options), "allowCredentials") {
		t.Fatalf("second-factor options must name the user's passkeys: %s", c.Options)
	}
	resp, raw = finish(c, key, m.MfaToken)
	tokens := decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK)
	if tokens.User.Email != u.Email {
		t.Fatalf("second factor signed in %s", tokens.User.Email)
	}
	// The mfa_token is spent.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/passkeys/login/begin", fmt.Sprintf(`{"mfa_token":%q}`, m.MfaToken), nil)
	decodeProblem(t, resp, raw, http.StatusUnauthorized)
}

// TestPasskeyStepUp: deleting a passkey is critical; a passkey assertion re-authenticates.
func TestPasskeyStepUp(t *testing.T) {
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.MFA.StepUpMaxAge = time.Nanosecond }))
	u := s.Register(t, "pk-stepup@example.com")
	key := newSoftKey(virtualwebauthn.AuthenticatorOptions{})
	pk := registerPasskey(t, s, u, key)

	resp, raw := s.Do(t, http.MethodDelete, "/v1/auth/passkeys/"+pk.Id.String(), nil, u.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusUnauthorized); p.Code != "reauthentication_required" {
		t.Fatalf("delete without a recent authentication: %+v", p)
	}
	c := beginPasskeyLogin(t, s)
	var assertion map[string]any
	if err := json.Unmarshal([]byte(key.assert(t, c)), &assertion); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"passkey": map[string]any{"ceremony_id": c.CeremonyId, "credential": assertion}})
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", body, u.Bearer())
	if tokens := decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK); tokens.User.Email != u.Email {
		t.Fatalf("reauthenticate with a passkey = %s", raw)
	}
	// Another user's passkey does not re-authenticate this session.
	other := s.Register(t, "pk-stepup-other@example.com")
	otherKey := newSoftKey(virtualwebauthn.AuthenticatorOptions{})
	registerPasskey(t, s, other, otherKey)
	c = beginPasskeyLogin(t, s)
	_ = json.Unmarshal([]byte(otherKey.assert(t, c)), &assertion)
	body, _ = json.Marshal(map[string]any{"passkey": map[string]any{"ceremony_id": c.CeremonyId, "credential": assertion}})
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", body, u.Bearer())
	decodeProblem(t, resp, raw, http.StatusUnauthorized)
}
