package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestRegisterAndLogin(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	ada := s.Register(t, "Ada@Example.com")

	resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, ada.Bearer())
	var profile struct {
		ID    string   `json:"id"`
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &profile) != nil || profile.ID != ada.UserID || strings.Join(profile.Roles, ",") != "user" {
		t.Fatalf("profile = %d %s", resp.StatusCode, body)
	}

	cases := []struct {
		name        string
		contentType string
		body        string
		status      int
	}{
		{"email, other case", "application/json", `{"email":"ada@example.COM","password":"correct horse battery staple"}`, 200},
		{"password grant form", "application/x-www-form-urlencoded", "grant_type=password&username=ada%40example.com&password=correct+horse+battery+staple", 200},
		{"wrong password", "application/json", `{"email":"ada@example.com","password":"wrong horse battery staple"}`, 401},
		{"unknown user", "application/json", `{"email":"nobody@example.com","password":"correct horse battery staple"}`, 401},
		{"both identifiers", "application/json", `{"email":"ada@example.com","username":"ada","password":"x"}`, 400},
		{"malformed JSON", "application/json", `{"email":`, 400},
		{"wrong grant", "application/x-www-form-urlencoded", "grant_type=client_credentials&username=a&password=b", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.Do(t, http.MethodPost, "/v1/auth/login", tc.body, map[string]string{"Content-Type": tc.contentType})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status >= 400 {
				decodeProblem(t, resp, body, tc.status)
			}
		})
	}
	// Unknown user and wrong password are indistinguishable.
	_, unknown := s.Do(t, http.MethodPost, "/v1/auth/login", `{"email":"nobody@example.com","password":"correct horse battery staple"}`, nil)
	_, wrong := s.Do(t, http.MethodPost, "/v1/auth/login", `{"email":"ada@example.com","password":"wrong horse battery staple"}`, nil)
	if stripRequestID(unknown) != stripRequestID(wrong) {
		t.Errorf("bodies differ:\n%s\n%s", unknown, wrong)
	}
}

func stripRequestID(b []byte) string {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "request_id")
	out, _ := json.Marshal(m)
	return string(out)
}

func TestRegisterRejectsBadInputAndKeepsExistingAccount(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	ada := s.Register(t, "ada@example.com")
	long := strings.Repeat("é", 37) // 74 bytes: over bcrypt's 72 must be refused, not truncated
	cases := []struct {
		name, body string
		status     int
		pointer    string
	}{
		{"duplicate email, other case", `{"email":"ADA@example.com","password":"another good passphrase"}`, 409, ""},
		{"role escalation", `{"email":"eve@example.com","password":"another good passphrase","roles":["admin"]}`, 400, ""},
		{"superuser flag", `{"email":"eve@example.com","password":"another good passphrase","is_superuser":true}`, 400, ""},
		{"common password", `{"email":"eve@example.com","password":"Password123"}`, 400, "/password"},
		{"short password", `{"email":"eve@example.com","password":"short"}`, 400, "/password"},
		{"password over 72 bytes", fmt.Sprintf(`{"email":"eve@example.com","password":%q}`, long), 400, "/password"},
		{"not an email", `{"email":"not-an-email","password":"another good passphrase"}`, 400, "/email"},
		{"bad username", `{"email":"eve@example.com","password":"another good passphrase","username":"no spaces"}`, 400, "/username"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.Do(t, http.MethodPost, "/v1/auth/register", tc.body, nil)
			p := decodeProblem(t, resp, body, tc.status)
			if tc.pointer != "" && (firstPointer(p) != tc.pointer) {
				t.Errorf("errors = %+v, want pointer %s", p.Errors, tc.pointer)
			}
		})
	}
	// The original account still signs in with its own password and has only the user role.
	again := s.Login(t, "ada@example.com", ada.Password)
	if again.UserID != ada.UserID {
		t.Errorf("login returned another user")
	}
	resp, body := s.Do(t, http.MethodGet, "/v1/admin/users", nil, ada.Bearer())
	if p := decodeProblem(t, resp, body, http.StatusForbidden); p.Code != "forbidden" {
		t.Errorf("plain user reached the admin list: %s", body)
	}
}

func TestRefreshRotationGraceAndReuse(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	first := s.Register(t, "rot@example.com")
	refresh := func(token string) (*http.Response, []byte) {
		return s.Do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, token), nil)
	}

	resp, body := refresh(first.RefreshToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d %s", resp.StatusCode, body)
	}
	second := testutil.DecodeSession(t, body, first.Email, first.Password)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	// Within the grace window the spent token yields the current pair again (lost reply).
	resp, body = refresh(first.RefreshToken)
	if resp.StatusCode != http.StatusOK || testutil.DecodeSession(t, body, "", "").RefreshToken != second.RefreshToken {
		t.Fatalf("grace replay = %d %s", resp.StatusCode, body)
	}
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.RefreshGrace = 1 })) // 1ns: no grace
	sess := s.Register(t, "reuse@example.com")
	other := s.Login(t, sess.Email, sess.Password) // another family, unaffected
	tokens := []string{sess.RefreshToken}
	latest := sess
	for i := 0; i < 3; i++ {
		resp, body := s.Do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, tokens[len(tokens)-1]), nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("rotation %d = %d %s", i, resp.StatusCode, body)
		}
		latest = testutil.DecodeSession(t, body, sess.Email, sess.Password)
		tokens = append(tokens, latest.RefreshToken)
	}
	// Replaying the first token is theft: 401, and the whole family is gone.
	resp, body := s.Do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, tokens[0]), nil)
	decodeProblem(t, resp, body, http.StatusUnauthorized)
	resp, body = s.Do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, latest.RefreshToken), nil)
	decodeProblem(t, resp, body, http.StatusUnauthorized)
	if resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, latest.Bearer()); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("access token of the revoked family = %d, want 401", resp.StatusCode)
	}
	if resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, other.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("another login's token = %d, want 200", resp.StatusCode)
	}
	var reuse int
	if err := s.App.Store.Pool.QueryRow(t.Context(), "SELECT count(*) FROM audit_log WHERE action = 'auth.refresh_reuse'").Scan(&reuse); err != nil || reuse != 1 {
		t.Errorf("reuse audit entries = %d (%v), want 1", reuse, err)
	}
}

func TestLogoutEndsSessionEverywhere(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	a := s.Register(t, "out@example.com")
	b := s.Login(t, a.Email, a.Password)
	if resp, body := s.Do(t, http.MethodPost, "/v1/auth/logout", nil, a.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d %s", resp.StatusCode, body)
	}
	resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, a.Bearer())
	decodeProblem(t, resp, body, http.StatusUnauthorized)
	resp, body = s.Do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, a.RefreshToken), nil)
	decodeProblem(t, resp, body, http.StatusUnauthorized)
	if resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, b.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("the other session = %d, want 200", resp.StatusCode)
	}
	// Another instance of the service (same database and Redis) rejects the token too.
	twin := s.Twin(t)
	if resp, _ := twin.Do(t, http.MethodGet, "/v1/auth/profile", nil, a.Bearer()); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second instance accepted a logged-out token: %d", resp.StatusCode)
	}
	if resp, _ := twin.Do(t, http.MethodGet, "/v1/auth/profile", nil, b.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("second instance rejected a live token: %d", resp.StatusCode)
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	a := s.Register(t, "pw@example.com")
	b := s.Login(t, a.Email, a.Password)
	resp, body := s.Do(t, http.MethodPost, "/v1/auth/change-password", `{"current_password":"wrong password here","new_password":"a brand new passphrase"}`, a.Bearer())
	decodeProblem(t, resp, body, http.StatusForbidden)
	resp, body = s.Do(t, http.MethodPost, "/v1/auth/change-password", fmt.Sprintf(`{"current_password":%q,"new_password":"a brand new passphrase"}`, a.Password), a.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("change-password = %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, b.Bearer()); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("other session after password change = %d, want 401", resp.StatusCode)
	}
	if resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, a.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("the changing session = %d, want 200", resp.StatusCode)
	}
	if resp, _ := s.Do(t, http.MethodPost, "/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, a.Email, a.Password), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password still signs in: %d", resp.StatusCode)
	}
	s.Login(t, a.Email, "a brand new passphrase")
}

func TestProfileUpdateAndDelete(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	a := s.Register(t, "del@example.com")
	other := s.Register(t, "other@example.com")
	if resp, body := s.Do(t, http.MethodPatch, "/v1/auth/profile", `{"username":"taken"}`, other.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("setup patch = %d %s", resp.StatusCode, body)
	}

	resp, body := s.Do(t, http.MethodPatch, "/v1/auth/profile", `{"username":"ada_l","preferences":{"theme":"dark","emoji":"🦀"}}`, a.Bearer())
	if user := decodeInto[api.User](t, resp, body, http.StatusOK); user.Username == nil || *user.Username != "ada_l" || user.Preferences["emoji"] != "🦀" {
		t.Fatalf("patch = %s", body)
	}
	resp, body = s.Do(t, http.MethodPatch, "/v1/auth/profile", `{"username":"TAKEN"}`, a.Bearer())
	decodeProblem(t, resp, body, http.StatusConflict)
	resp, body = s.Do(t, http.MethodPatch, "/v1/auth/profile", `{}`, a.Bearer())
	decodeProblem(t, resp, body, http.StatusBadRequest)
	s.Login(t, "ada_l", a.Password) // username sign-in

	_, created := s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"ci"}`, a.Bearer())
	var key struct {
		Secret string `json:"secret"`
	}
	_ = json.Unmarshal(created, &key)

	resp, body = s.Do(t, http.MethodDelete, "/v1/auth/profile", `{"password":"not my password"}`, a.Bearer())
	decodeProblem(t, resp, body, http.StatusForbidden)
	if resp, body := s.Do(t, http.MethodDelete, "/v1/auth/profile", fmt.Sprintf(`{"password":%q}`, a.Password), a.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d %s", resp.StatusCode, body)
	}
	for name, h := range map[string]map[string]string{"access token": a.Bearer(), "api key": {"X-API-Key": key.Secret}} {
		if resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, h); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s of a deleted account = %d, want 401", name, resp.StatusCode)
		}
	}
	if resp, _ := s.Do(t, http.MethodPost, "/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, a.Email, a.Password), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("deleted account signs in: %d", resp.StatusCode)
	}
	if resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, other.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("another account affected: %d", resp.StatusCode)
	}
}

func TestJWKSPublishesTheSigningKey(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	a := s.Register(t, "jwks@example.com")
	resp, body := s.Do(t, http.MethodGet, "/.well-known/jwks.json", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks = %d", resp.StatusCode)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks body %s", body)
	}
	header := decodeJWTHeader(t, a.AccessToken)
	found := false
	for _, k := range set.Keys {
		found = found || k.Kid == header["kid"]
		if k.D != "" {
			t.Error("the JWKS publishes private key material")
		}
	}
	if !found || header["alg"] != "RS256" || header["typ"] != "at+jwt" {
		t.Errorf("token header %v not matched by the JWKS", header)
	}
}
