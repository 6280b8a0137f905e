package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// testClock is the account service's clock in these tests: time moves only when a test says so.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mfaServer runs a server whose account service reads clock; it starts a second into a TOTP step.
func mfaServer(t *testing.T) (*testutil.Server, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Now().UTC().Truncate(30 * time.Second).Add(time.Second)}
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.MFA.Clock = clock.Now }))
	return s, clock
}

// codeAt is the authenticator app's code for secret at t.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// mfaUser is a registered user with active TOTP.
type mfaUser struct {
	testutil.Session
	Secret   string
	Recovery []string
}

// enableTOTP registers email and turns TOTP on, using the code of the clock's current step.
func enableTOTP(t *testing.T, s *testutil.Server, clock *testClock, email string) mfaUser {
	t.Helper()
	u := s.Register(t, email)
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/mfa/totp", nil, u.Bearer())
	enrol := decodeInto[api.TOTPEnrollment](t, resp, raw, http.StatusCreated)
	if !strings.HasPrefix(enrol.OtpauthUrl, "otpauth://totp/") || !strings.Contains(enrol.OtpauthUrl, "secret="+enrol.Secret) {
		t.Fatalf("enrolment %+v", enrol)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("enrolment Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/totp/verify", fmt.Sprintf(`{"code":%q}`, codeAt(t, enrol.Secret, clock.Now())), u.Bearer())
	codes := decodeInto[api.RecoveryCodes](t, resp, raw, http.StatusOK)
	return mfaUser{Session: u, Secret: enrol.Secret, Recovery: codes.RecoveryCodes}
}

// loginMFA signs in with the password and returns the pending second step.
func loginMFA(t *testing.T, s *testutil.Server, u mfaUser) api.MFARequired {
	t.Helper()
	resp, raw := login(t, s, u.Email, u.Password)
	var pending api.MFARequired
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &pending) != nil || !bool(pending.MfaRequired) || pending.MfaToken == "" {
		t.Fatalf("login = %d %s, want mfa_required", resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), "access_token") || strings.Contains(string(raw), "refresh_token") {
		t.Fatalf("an MFA login answered tokens: %s", raw)
	}
	return pending
}

func challenge(t *testing.T, s *testutil.Server, body string) (*http.Response, []byte) {
	t.Helper()
	return s.Do(t, http.MethodPost, "/v1/auth/mfa/challenge", body, nil)
}

// signInWithTOTP completes a full MFA sign-in with the code of the clock's step.
func signInWithTOTP(t *testing.T, s *testutil.Server, clock *testClock, u mfaUser) testutil.Session {
	t.Helper()
	pending := loginMFA(t, s, u)
	resp, raw := challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, pending.MfaToken, codeAt(t, u.Secret, clock.Now())))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("challenge = %d %s", resp.StatusCode, raw)
	}
	return testutil.DecodeSession(t, raw, u.Email, u.Password)
}

func wantProblem(t *testing.T, resp *http.Response, raw []byte, status int, code string) api.Problem {
	t.Helper()
	p := decodeProblem(t, resp, raw, status)
	if p.Code != code {
		t.Fatalf("code %q, want %q: %s", p.Code, code, raw)
	}
	return p
}

// TestMFAEnrolmentAndSignIn: enrolment, activation with recovery codes, the two-step sign-in,
// and the mfa_token's single use.
func TestMFAEnrolmentAndSignIn(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	u := s.Register(t, "totp@example.com")
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/mfa/recovery-codes", nil, u.Bearer())
	wantProblem(t, resp, raw, http.StatusConflict, "mfa_not_enabled")
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/totp/verify", `{"code":"123456"}`, u.Bearer())
	wantProblem(t, resp, raw, http.StatusNotFound, "not_found")

	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/totp", nil, u.Bearer())
	enrol := decodeInto[api.TOTPEnrollment](t, resp, raw, http.StatusCreated)
	// Pending: the password alone still signs in.
	s.Login(t, u.Email, u.Password)
	wrong := codeAt(t, enrol.Secret, clock.Now().Add(-time.Hour))
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/totp/verify", fmt.Sprintf(`{"code":%q}`, wrong), u.Bearer())
	wantProblem(t, resp, raw, http.StatusForbidden, "invalid_code")
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/totp/verify", `{"code":"12345"}`, u.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(p) != "/code" {
		t.Errorf("short code: pointer %q", firstPointer(p))
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/totp/verify", fmt.Sprintf(`{"code":%q}`, codeAt(t, enrol.Secret, clock.Now())), u.Bearer())
	codes := decodeInto[api.RecoveryCodes](t, resp, raw, http.StatusOK).RecoveryCodes
	seen := map[string]bool{}
	for _, c := range codes {
		if len(strings.ReplaceAll(c, "-", "")) != 16 || seen[c] { // 16 base32 characters: 80 bits
			t.Errorf("recovery code %q (seen %v)", c, seen[c])
		}
		seen[c] = true
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/totp", nil, u.Bearer())
	wantProblem(t, resp, raw, http.StatusConflict, "mfa_already_enabled")

	m := mfaUser{Session: u, Secret: enrol.Secret, Recovery: codes}
	pending := loginMFA(t, s, m)
	if got := fmt.Sprint(pending.Methods); got != "[totp recovery_code]" || pending.ExpiresIn != 300 {
		t.Errorf("methods %s expires_in %d", got, pending.ExpiresIn)
	}
	// The mfa_token is no access token.
	if st := status(t, s, map[string]string{"Authorization": "Bearer " + pending.MfaToken}); st != http.StatusUnauthorized {
		t.Errorf("mfa_token as a bearer = %d", st)
	}
	// The activating code's step is spent: the same code (same step) is refused even here.
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, pending.MfaToken, codeAt(t, enrol.Secret, clock.Now())))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_code")
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q}`, pending.MfaToken))
	wantProblem(t, resp, raw, http.StatusBadRequest, "validation_failed")

	clock.Advance(30 * time.Second)
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, pending.MfaToken, codeAt(t, enrol.Secret, clock.Now())))
	signedIn := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)
	if st := status(t, s, signedIn.Bearer()); st != http.StatusOK {
		t.Errorf("profile with the MFA sign-in's token = %d", st)
	}
	// Single use: the same mfa_token with a fresh code is refused.
	clock.Advance(30 * time.Second)
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, pending.MfaToken, codeAt(t, enrol.Secret, clock.Now())))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_mfa_token")
	// And a refresh of the MFA sign-in works as any other.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, signedIn.RefreshToken), nil)
	decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK)
}

// TestTOTPReplayAndStaleCodes: a code works once (even at another sign-in in the same step), a
// code from two steps ago is refused, the previous step's code is still accepted (±1).
func TestTOTPReplayAndStaleCodes(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	u := enableTOTP(t, s, clock, "replay@example.com")
	clock.Advance(30 * time.Second)
	code := codeAt(t, u.Secret, clock.Now())
	first := loginMFA(t, s, u)
	resp, raw := challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, first.MfaToken, code))
	decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK)
	second := loginMFA(t, s, u)
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, second.MfaToken, code))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_code")

	clock.Advance(3 * 30 * time.Second)
	twoAgo := codeAt(t, u.Secret, clock.Now().Add(-60*time.Second)) // later than the last accepted step, but too old
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, second.MfaToken, twoAgo))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_code")
	oneAgo := codeAt(t, u.Secret, clock.Now().Add(-30*time.Second))
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, second.MfaToken, oneAgo))
	decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK)
	// Once a later step was accepted, an earlier step's code is refused.
	third := loginMFA(t, s, u)
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, third.MfaToken, code))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_code")
}

// TestRecoveryCodes: a recovery code completes a sign-in once (case and hyphens ignored), a
// regenerated set replaces the old one.
func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	u := enableTOTP(t, s, clock, "recover@example.com")
	pending := loginMFA(t, s, u)
	spoken := strings.ToUpper(strings.ReplaceAll(u.Recovery[0], "-", ""))
	resp, raw := challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":%q}`, pending.MfaToken, spoken))
	signedIn := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)

	again := loginMFA(t, s, u)
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":%q}`, again.MfaToken, u.Recovery[0]))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_code")
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":%q,"totp_code":"123456"}`, again.MfaToken, u.Recovery[1]))
	wantProblem(t, resp, raw, http.StatusBadRequest, "validation_failed")

	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/recovery-codes", nil, signedIn.Bearer())
	fresh := decodeInto[api.RecoveryCodes](t, resp, raw, http.StatusOK).RecoveryCodes
	if len(fresh) != 10 || fresh[0] == u.Recovery[1] {
		t.Fatalf("regenerated %v", fresh)
	}
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":%q}`, again.MfaToken, u.Recovery[1]))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_code")
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":%q}`, again.MfaToken, fresh[1]))
	decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK)
}

// TestMFATokenExpiresAndCodesLockTheAccount: an mfa_token dies after 5 minutes; wrong codes count
// towards the account's lockout, and signing in again with the password does not reset it.
func TestMFATokenExpiresAndCodesLockTheAccount(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	u := enableTOTP(t, s, clock, "expiry@example.com")
	pending := loginMFA(t, s, u)
	clock.Advance(5*time.Minute + time.Second)
	resp, raw := challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, pending.MfaToken, codeAt(t, u.Secret, clock.Now())))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_mfa_token")
	resp, raw = challenge(t, s, `{"mfa_token":"ccm_unknown","totp_code":"000000"}`)
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_mfa_token")

	for i := range lockoutThreshold - 1 {
		pending := loginMFA(t, s, u) // a fresh password sign-in each time
		resp, raw := challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":"aaaa-aaaa-aaaa-aaa%d"}`, pending.MfaToken, i+2))
		wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_code")
	}
	pending = loginMFA(t, s, u)
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":"bbbb-bbbb-bbbb-bbbb"}`, pending.MfaToken))
	assertLocked(t, resp, raw, "the code failure that locks")
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":%q}`, pending.MfaToken, u.Recovery[0]))
	assertLocked(t, resp, raw, "the right code while locked")
	resp, raw = login(t, s, u.Email, u.Password)
	assertLocked(t, resp, raw, "the password while locked")
}

// TestStepUp: critical operations need a recent sign-in from an account with MFA; a
// re-authentication (password, TOTP or recovery code) gives one, a refresh keeps the original.
func TestStepUp(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	plain := s.Register(t, "plain@example.com")
	u := enableTOTP(t, s, clock, "stepup@example.com")
	clock.Advance(30 * time.Second)
	sess := signInWithTOTP(t, s, clock, u)

	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"fresh"}`, sess.Bearer())
	decodeInto[api.APIKeySecret](t, resp, raw, http.StatusCreated)

	clock.Advance(11 * time.Minute)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"stale"}`, sess.Bearer())
	p := wantProblem(t, resp, raw, http.StatusUnauthorized, "reauthentication_required")
	if p.Methods == nil || fmt.Sprint(*p.Methods) != "[password totp recovery_code]" {
		t.Errorf("methods %v", p.Methods)
	}
	// Without MFA nothing changes.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"plain"}`, plain.Bearer())
	decodeInto[api.APIKeySecret](t, resp, raw, http.StatusCreated)
	// A refresh keeps the sign-in's auth_time: still too old.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, sess.RefreshToken), nil)
	refreshed := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)
	resp, raw = s.Do(t, http.MethodDelete, "/v1/auth/mfa/totp", nil, refreshed.Bearer())
	wantProblem(t, resp, raw, http.StatusUnauthorized, "reauthentication_required")

	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", `{"password":"not it"}`, refreshed.Bearer())
	wantProblem(t, resp, raw, http.StatusForbidden, "invalid_password")
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", `{"passkey":{"ceremony_id":"x","credential":{}}}`, refreshed.Bearer())
	// The passkey branch (internal/httpapi/passkeys.go): a ceremony never begun is refused.
	if p := decodeProblem(t, resp, raw, http.StatusUnauthorized); p.Code != "passkey_rejected" {
		t.Errorf("passkey branch: %s", raw)
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", `{"password":"x","totp_code":"123456"}`, refreshed.Bearer())
	decodeProblem(t, resp, raw, http.StatusBadRequest)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", fmt.Sprintf(`{"password":%q}`, u.Password), refreshed.Bearer())
	stepped := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"stepped up"}`, stepped.Bearer())
	key := decodeInto[api.APIKeySecret](t, resp, raw, http.StatusCreated)
	// The old access token is still old; the replaced refresh token is spent.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys/"+key.ApiKey.Id.String()+"/rotate", nil, refreshed.Bearer())
	wantProblem(t, resp, raw, http.StatusUnauthorized, "reauthentication_required")
	// An API key carries no sign-in time: never enough for an account with MFA.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys/"+key.ApiKey.Id.String()+"/rotate", nil, map[string]string{"X-API-Key": key.Secret})
	wantProblem(t, resp, raw, http.StatusUnauthorized, "reauthentication_required")
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", `{"password":"x"}`, map[string]string{"X-API-Key": key.Secret})
	decodeProblem(t, resp, raw, http.StatusUnauthorized) // bearer only

	// A refresh of the stepped-up session keeps the new auth_time.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, stepped.RefreshToken), nil)
	again := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys/"+key.ApiKey.Id.String()+"/rotate", nil, again.Bearer())
	decodeInto[api.APIKeySecret](t, resp, raw, http.StatusOK)

	// TOTP and a recovery code re-authenticate too; then TOTP can be turned off.
	clock.Advance(11 * time.Minute)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", fmt.Sprintf(`{"totp_code":%q}`, codeAt(t, u.Secret, clock.Now())), again.Bearer())
	viaTOTP := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", fmt.Sprintf(`{"totp_code":%q}`, codeAt(t, u.Secret, clock.Now())), viaTOTP.Bearer())
	wantProblem(t, resp, raw, http.StatusForbidden, "invalid_code") // replayed
	clock.Advance(11 * time.Minute)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", fmt.Sprintf(`{"recovery_code":%q}`, u.Recovery[3]), viaTOTP.Bearer())
	viaCode := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)
	resp, raw = s.Do(t, http.MethodDelete, "/v1/auth/mfa/totp", nil, viaCode.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("disable TOTP = %d %s", resp.StatusCode, raw)
	}
	resp, raw = s.Do(t, http.MethodDelete, "/v1/auth/mfa/totp", nil, viaCode.Bearer())
	wantProblem(t, resp, raw, http.StatusNotFound, "not_found")
	// MFA off: the password alone signs in again, and old sessions need no step-up.
	s.Login(t, u.Email, u.Password)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"after"}`, refreshed.Bearer())
	decodeInto[api.APIKeySecret](t, resp, raw, http.StatusCreated)
}

// TestStepUpCoversAdminWrites: the spec marks every admin write; an administrator with MFA needs
// a recent sign-in for it.
func TestStepUpCoversAdminWrites(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	admin := s.Admin(t, "mfa-admin@example.com")
	target := s.Register(t, "target@example.com")
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/mfa/totp", nil, admin.Bearer())
	enrol := decodeInto[api.TOTPEnrollment](t, resp, raw, http.StatusCreated)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/totp/verify", fmt.Sprintf(`{"code":%q}`, codeAt(t, enrol.Secret, clock.Now())), admin.Bearer())
	decodeInto[api.RecoveryCodes](t, resp, raw, http.StatusOK)

	clock.Advance(11 * time.Minute)
	resp, raw = s.Do(t, http.MethodPatch, "/v1/admin/users/"+target.UserID, `{"unlock":true}`, admin.Bearer())
	wantProblem(t, resp, raw, http.StatusUnauthorized, "reauthentication_required")
	resp, raw = s.Do(t, http.MethodGet, "/v1/admin/users", nil, admin.Bearer()) // reads are not critical
	decodeInto[api.AdminUserList](t, resp, raw, http.StatusOK)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", fmt.Sprintf(`{"password":%q}`, "admin password for tests"), admin.Bearer())
	fresh := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), admin.Email, "")
	resp, raw = s.Do(t, http.MethodPatch, "/v1/admin/users/"+target.UserID, `{"unlock":true}`, fresh.Bearer())
	decodeInto[api.AdminUser](t, resp, raw, http.StatusOK)

	// The audit log has every MFA event, and never a secret.
	secrets := []string{enrol.Secret, "admin password for tests", fresh.AccessToken, fresh.RefreshToken}
	resp, raw = s.Do(t, http.MethodGet, "/v1/admin/audit-log?user_id="+admin.UserID, nil, fresh.Bearer())
	list := decodeInto[api.AuditLogList](t, resp, raw, http.StatusOK)
	actions := map[api.AuditAction]bool{}
	for _, e := range list.Data {
		actions[e.Action] = true
	}
	for _, want := range []api.AuditAction{"auth.mfa_enroll", "auth.mfa_enable", "auth.reauthenticate"} {
		if !actions[want] {
			t.Errorf("audit log lacks %s: %s", want, raw)
		}
	}
	for _, sec := range secrets {
		if strings.Contains(string(raw), sec) {
			t.Errorf("audit log contains a secret")
		}
	}
}

// TestMFAAuditHasNoSecrets: the sign-in events of an MFA account are audited, codes and tokens
// never.
func TestMFAAuditHasNoSecrets(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	admin := s.Admin(t, "auditor@example.com")
	u := enableTOTP(t, s, clock, "audited@example.com")
	pending := loginMFA(t, s, u)
	resp, raw := challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"recovery_code":"zzzz-zzzz-zzzz-zzzz"}`, pending.MfaToken))
	wantProblem(t, resp, raw, http.StatusUnauthorized, "invalid_code")
	clock.Advance(30 * time.Second)
	code := codeAt(t, u.Secret, clock.Now())
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, pending.MfaToken, code))
	sess := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/mfa/recovery-codes", nil, sess.Bearer())
	fresh := decodeInto[api.RecoveryCodes](t, resp, raw, http.StatusOK)

	resp, raw = s.Do(t, http.MethodGet, "/v1/admin/audit-log?limit=100&user_id="+u.UserID, nil, admin.Bearer())
	list := decodeInto[api.AuditLogList](t, resp, raw, http.StatusOK)
	got := map[string]int{}
	for _, e := range list.Data {
		got[string(e.Action)+" "+string(e.Outcome)]++
	}
	for _, want := range []string{"auth.mfa_enroll success", "auth.mfa_enable success", "auth.login success", "auth.mfa_challenge failure",
		"auth.mfa_challenge success", "auth.recovery_codes_regenerate success"} {
		if got[want] == 0 {
			t.Errorf("no %q entry: %v", want, got)
		}
	}
	secrets := append([]string{u.Secret, u.Password, pending.MfaToken, code, sess.AccessToken, sess.RefreshToken, "zzzz-zzzz"},
		append(u.Recovery, fresh.RecoveryCodes...)...)
	for _, sec := range secrets {
		if strings.Contains(string(raw), sec) {
			t.Errorf("audit log contains secret %q", sec)
		}
	}
}

// TestSecondFactorsAreSpentOnce: two sign-ins racing with one recovery code, or one TOTP code, get
// exactly one session between them (the database update is the compare-and-set).
func TestSecondFactorsAreSpentOnce(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	// One user per factor: the losers' failures count towards that account's lockout.
	for i, kind := range []string{"recovery_code", "totp_code"} {
		u := enableTOTP(t, s, clock, fmt.Sprintf("race%d@example.com", i))
		clock.Advance(30 * time.Second)
		factor := `"recovery_code":"` + u.Recovery[0] + `"`
		if kind == "totp_code" {
			factor = `"totp_code":"` + codeAt(t, u.Secret, clock.Now()) + `"`
		}
		const racers = 4
		tokens := make([]string, racers)
		for i := range tokens {
			tokens[i] = loginMFA(t, s, u).MfaToken
		}
		statuses := make([]int, racers)
		var wg sync.WaitGroup
		for i := range racers {
			req := s.Request(t, http.MethodPost, "/v1/auth/mfa/challenge", fmt.Sprintf(`{"mfa_token":%q,%s}`, tokens[i], factor), nil)
			wg.Go(func() {
				resp, _ := s.Client.Do(t, req)
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
			case http.StatusUnauthorized:
			default:
				t.Errorf("%s: status %d", factor, st)
			}
		}
		if ok != 1 {
			t.Errorf("%s: %d of %d racing sign-ins succeeded (%v), want exactly 1", factor, ok, racers, statuses)
		}
	}
}

// passkeyOwners stands in for the passkey service: the users it names have a passkey.
type passkeyOwners map[string]bool

func (p passkeyOwners) HasPasskey(_ context.Context, userID uuid.UUID) (bool, error) {
	return p[userID.String()], nil
}

// TestPasskeysCountAsMFA: a passkey (as the passkey service reports it) makes the account an MFA
// account: the password sign-in asks for the second step, offering passkey, and step-up applies.
func TestPasskeysCountAsMFA(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	u := s.Register(t, "passkey-owner@example.com")
	other := s.Register(t, "no-passkey@example.com")
	s.App.Accounts.WithPasskeys(passkeyOwners{u.UserID: true})
	for id, want := range map[string]bool{u.UserID: true, other.UserID: false} {
		if has, err := s.App.Accounts.HasMFA(context.Background(), uuid.MustParse(id)); err != nil || has != want {
			t.Errorf("HasMFA(%s) = %v %v, want %v", id, has, err, want)
		}
	}
	pending := loginMFA(t, s, mfaUser{Session: u})
	if got := fmt.Sprint(pending.Methods); got != "[passkey]" {
		t.Errorf("methods %s, want [passkey]", got)
	}
	s.Login(t, other.Email, other.Password)
	clock.Advance(11 * time.Minute)
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/change-password", fmt.Sprintf(`{"current_password":%q,"new_password":"another long passphrase"}`, u.Password), u.Bearer())
	p := wantProblem(t, resp, raw, http.StatusUnauthorized, "reauthentication_required")
	if p.Methods == nil || fmt.Sprint(*p.Methods) != "[password passkey]" {
		t.Errorf("methods %v", p.Methods)
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/reauthenticate", fmt.Sprintf(`{"password":%q}`, u.Password), u.Bearer())
	fresh := testutil.DecodeSession(t, decodeInto[json.RawMessage](t, resp, raw, http.StatusOK), u.Email, u.Password)
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/change-password", fmt.Sprintf(`{"current_password":%q,"new_password":"another long passphrase"}`, u.Password), fresh.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("change password after step-up = %d %s", resp.StatusCode, raw)
	}
	resp, raw = s.Do(t, http.MethodDelete, "/v1/auth/profile", fmt.Sprintf(`{"password":%q}`, other.Password), other.Bearer()) // no MFA: no step-up
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete profile without MFA = %d %s", resp.StatusCode, raw)
	}
}
