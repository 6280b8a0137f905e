package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestPasskeyRegisterSignInManage(t *testing.T) {
	s := testutil.NewServer(t)
	u := s.Register(t, "pk-owner@example.com")
	key := newSoftKey(virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})

	c := beginRegistration(t, s, u)
	if !strings.Contains(string(c.Options), `"residentKey":"required"`) || !strings.Contains(string(c.Options), `"userVerification":"required"`) {
		t.Fatalf("creation options must require a discoverable, user-verified credential: %s", c.Options)
	}
	resp, raw := finishRegistration(t, s, u, c.CeremonyId, key.attest(t, c))
	pk := decodeInto[api.Passkey](t, resp, raw, http.StatusCreated)
	if pk.Name != "test phone" || !pk.BackupEligible || !pk.BackedUp || pk.LastUsedAt != nil {
		t.Fatalf("registered passkey = %+v", pk)
	}
	// The ceremony was spent: finishing it again is refused.
	resp, raw = finishRegistration(t, s, u, c.CeremonyId, key.attest(t, c))
	if p := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(p) != "/ceremony_id" {
		t.Fatalf("reused registration ceremony: %+v", p)
	}

	// Usernameless sign-in answers the usual token pair, which works.
	c = beginPasskeyLogin(t, s)
	if strings.Contains(string(c.Options), "allowCredentials") {
		t.Fatalf("usernameless request options name credentials: %s", c.Options)
	}
	resp, raw = finishPasskeyLogin(t, s, c.CeremonyId, key.assert(t, c))
	tokens := decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK)
	if tokens.User.Email != u.Email || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("passkey login = %+v, Cache-Control %q", tokens.User, resp.Header.Get("Cache-Control"))
	}
	signedIn := testutil.DecodeSession(t, raw, u.Email, "")
	if got := status(t, s, signedIn.Bearer()); got != http.StatusOK {
		t.Fatalf("profile with the passkey's access token = %d", got)
	}

	resp, raw = s.Do(t, http.MethodGet, "/v1/auth/passkeys", nil, u.Bearer())
	list := decodeInto[api.PasskeyList](t, resp, raw, http.StatusOK)
	if len(list.Data) != 1 || list.Data[0].Id != pk.Id || list.Data[0].LastUsedAt == nil || list.HasMore {
		t.Fatalf("passkey list = %s", raw)
	}
	resp, raw = s.Do(t, http.MethodPatch, "/v1/auth/passkeys/"+pk.Id.String(), `{"name":"work laptop"}`, u.Bearer())
	if renamed := decodeInto[api.Passkey](t, resp, raw, http.StatusOK); renamed.Name != "work laptop" {
		t.Fatalf("rename = %s", raw)
	}
	resp, raw = s.Do(t, http.MethodPatch, "/v1/auth/passkeys/"+pk.Id.String(), `{"name":""}`, u.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(p) != "/name" {
		t.Fatalf("empty name: %+v", p)
	}
	resp, raw = s.Do(t, http.MethodDelete, "/v1/auth/passkeys/"+pk.Id.String(), nil, u.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d %s", resp.StatusCode, raw)
	}
	// A deleted passkey no longer signs in.
	c = beginPasskeyLogin(t, s)
	resp, raw = finishPasskeyLogin(t, s, c.CeremonyId, key.assert(t, c))
	if p := decodeProblem(t, resp, raw, http.StatusUnauthorized); p.Code != "passkey_rejected" {
		t.Fatalf("deleted passkey: %+v", p)
	}

	admin := s.Admin(t, "pk-admin@example.com")
	for _, action := range []string{"auth.passkey_register", "auth.passkey_login", "auth.passkey_rename", "auth.passkey_delete"} {
		assertAudit(t, s, admin, action, 1)
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/admin/audit-log?action=auth.passkey_login", nil, admin.Bearer())
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"outcome":"failure"`) || !strings.Contains(string(raw), `"outcome":"success"`) {
		t.Fatalf("passkey logins audited: %s", raw)
	}
	if strings.Contains(string(raw), tokens.AccessToken) || strings.Contains(string(raw), tokens.RefreshToken) {
		t.Fatalf("audit log holds a token: %s", raw)
	}
}

// TestPasskeyLoginRefused: each forged or replayed assertion is a 401 passkey_rejected and signs
// nobody in.
func TestPasskeyLoginRefused(t *testing.T) {
	s := testutil.NewServer(t)
	u := s.Register(t, "pk-refused@example.com")
	key := newSoftKey(virtualwebauthn.AuthenticatorOptions{BackupEligible: true})
	registerPasskey(t, s, u, key)
	passkeyLogin(t, s, key) // the counter now stands at 1

	cases := []struct {
		name      string
		assertion func(t *testing.T, c api.PasskeyCeremony) (ceremonyID, assertion string)
	}{
		{"wrong origin", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			evil := *key
			evil.rp.Origin = "https://evil.example"
			return c.CeremonyId, evil.assert(t, c)
		}},
		{"wrong relying party", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			evil := *key
			evil.rp.ID = "evil.example"
			return c.CeremonyId, evil.assert(t, c)
		}},
		{"replayed assertion, same ceremony", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			a := key.assert(t, c)
			if resp, raw := finishPasskeyLogin(t, s, c.CeremonyId, a); resp.StatusCode != http.StatusOK {
				t.Fatalf("first use = %d %s", resp.StatusCode, raw)
			}
			return c.CeremonyId, a
		}},
		{"replayed assertion, new ceremony", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			old := beginPasskeyLogin(t, s)
			a := key.assert(t, old)
			if resp, raw := finishPasskeyLogin(t, s, old.CeremonyId, a); resp.StatusCode != http.StatusOK {
				t.Fatalf("first use = %d %s", resp.StatusCode, raw)
			}
			return c.CeremonyId, a
		}},
		{"cloned authenticator: sign count goes backwards", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			clone := *key
			clone.cred.Counter = 0 // assert advances it to 1, not above the stored count
			return c.CeremonyId, clone.assert(t, c)
		}},
		{"user not verified", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			lazy := *key
			lazy.auth.Options.UserNotVerified = true
			return c.CeremonyId, lazy.assert(t, c)
		}},
		{"backup eligibility changed", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			odd := *key
			odd.auth.Options.BackupEligible = false
			return c.CeremonyId, odd.assert(t, c)
		}},
		{"unknown passkey", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			stranger := newSoftKey(virtualwebauthn.AuthenticatorOptions{UserHandle: key.auth.Options.UserHandle})
			return c.CeremonyId, stranger.assert(t, c)
		}},
		{"never begun ceremony", func(t *testing.T, c api.PasskeyCeremony) (string, string) {
			return "pkc_never", key.assert(t, c)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, a := tc.assertion(t, beginPasskeyLogin(t, s))
			resp, raw := finishPasskeyLogin(t, s, id, a)
			if p := decodeProblem(t, resp, raw, http.StatusUnauthorized); p.Code != "passkey_rejected" {
				t.Fatalf("%s: %+v", tc.name, p)
			}
		})
	}
	// The genuine authenticator still signs in after all that.
	passkeyLogin(t, s, key)
}

// TestPasskeysOfAnotherUser: another user's passkey is 404 and their ceremony is not ours.
func TestPasskeysOfAnotherUser(t *testing.T) {
	s := testutil.NewServer(t)
	owner := s.Register(t, "pk-a@example.com")
	other := s.Register(t, "pk-b@example.com")
	key := newSoftKey(virtualwebauthn.AuthenticatorOptions{})
	pk := registerPasskey(t, s, owner, key)

	for _, r := range []struct{ method, body string }{{http.MethodPatch, `{"name":"mine now"}`}, {http.MethodDelete, ""}} {
		var body any
		if r.body != "" {
			body = r.body
		}
		resp, raw := s.Do(t, r.method, "/v1/auth/passkeys/"+pk.Id.String(), body, other.Bearer())
		decodeProblem(t, resp, raw, http.StatusNotFound)
	}
	resp, raw := s.Do(t, http.MethodGet, "/v1/auth/passkeys", nil, other.Bearer())
	if list := decodeInto[api.PasskeyList](t, resp, raw, http.StatusOK); len(list.Data) != 0 {
		t.Fatalf("other user's list = %s", raw)
	}
	// A registration ceremony begun by the owner cannot be finished by someone else.
	c := beginRegistration(t, s, owner)
	resp, raw = finishRegistration(t, s, other, c.CeremonyId, newSoftKey(virtualwebauthn.AuthenticatorOptions{}).attest(t, c))
	if p := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(p) != "/ceremony_id" {
		t.Fatalf("finishing another user's ceremony: %+v", p)
	}
	// The same authenticator cannot be registered twice: it is excluded, and its id is taken.
	c = beginRegistration(t, s, owner)
	if !strings.Contains(string(c.Options), "excludeCredentials") {
		t.Fatalf("existing passkeys not excluded: %s", c.Options)
	}
	resp, raw = finishRegistration(t, s, owner, c.CeremonyId, key.attest(t, c))
	decodeProblem(t, resp, raw, http.StatusConflict)
	// A registration from a wrong origin is refused.
	evil := newSoftKey(virtualwebauthn.AuthenticatorOptions{})
	evil.rp.Origin = "https://evil.example"
	c = beginRegistration(t, s, owner)
	resp, raw = finishRegistration(t, s, owner, c.CeremonyId, evil.attest(t, c))
	if p := decodeProblem(t, resp, raw, http.StatusBadRequest); p.Code != "passkey_rejected" || firstPointer(p) != "/credential" {
		t.Fatalf("wrong-origin registration: %+v", p)
	}
	// The owner still sees exactly the one passkey.
	resp, raw = s.Do(t, http.MethodGet, "/v1/auth/passkeys?limit=1", nil, owner.Bearer())
	if list := decodeInto[api.PasskeyList](t, resp, raw, http.StatusOK); len(list.Data) != 1 {
		t.Fatalf("owner's list = %s", raw)
	}
}

// TestPasskeyDisabledAccount: a disabled account's passkey verifies but signs nobody in.
func TestPasskeyDisabledAccount(t *testing.T) {
	s := testutil.NewServer(t)
	u := s.Register(t, "pk-disabled@example.com")
	key := newSoftKey(virtualwebauthn.AuthenticatorOptions{})
	registerPasskey(t, s, u, key)
	admin := s.Admin(t, "pk-disabler@example.com")
	if resp, raw := s.Do(t, http.MethodPatch, "/v1/admin/users/"+u.UserID, `{"is_active":false}`, admin.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("disable = %d %s", resp.StatusCode, raw)
	}
	c := beginPasskeyLogin(t, s)
	resp, raw := finishPasskeyLogin(t, s, c.CeremonyId, key.assert(t, c))
	if p := decodeProblem(t, resp, raw, http.StatusForbidden); p.Code != "account_disabled" {
		t.Fatalf("disabled account: %+v", p)
	}
}
