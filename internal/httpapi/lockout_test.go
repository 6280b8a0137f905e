package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// lockoutThreshold is the default CCB_LOCKOUT_THRESHOLD the test servers run with.
const lockoutThreshold = 5

func assertLocked(t *testing.T, resp *http.Response, body []byte, what string) {
	t.Helper()
	p := decodeProblem(t, resp, body, http.StatusTooManyRequests)
	if p.Code != "account_locked" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: code %q Retry-After %q, want account_locked with Retry-After", what, p.Code, resp.Header.Get("Retry-After"))
	}
}

// TestLockoutBelongsToTheAccount: failures through the email lock the account, so its username
// does not get fresh guesses; identifiers of no account still lock after as many failures.
func TestLockoutBelongsToTheAccount(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/register", `{"email":"both@example.com","username":"both_names","password":"a long enough password"}`, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %s", resp.StatusCode, raw)
	}
	for i := range lockoutThreshold - 1 {
		resp, raw := loginAs(t, s, "email", "both@example.com", fmt.Sprintf("wrong guess %d", i))
		decodeProblem(t, resp, raw, http.StatusUnauthorized)
	}
	resp, raw = loginAs(t, s, "email", "BOTH@example.com", "the last wrong guess")
	assertLocked(t, resp, raw, "the failure that locks")
	resp, raw = loginAs(t, s, "username", "both_names", "a long enough password")
	assertLocked(t, resp, raw, "the right password by username")
	resp, raw = loginAs(t, s, "email", "both@example.com", "a long enough password")
	assertLocked(t, resp, raw, "the right password by email")

	for _, ident := range []struct{ field, value string }{{"email", "nobody@example.com"}, {"username", "nobody_here"}} {
		for range lockoutThreshold - 1 {
			resp, raw := loginAs(t, s, ident.field, ident.value, "any password at all")
			decodeProblem(t, resp, raw, http.StatusUnauthorized)
		}
		resp, raw := loginAs(t, s, ident.field, ident.value, "any password at all")
		assertLocked(t, resp, raw, "unknown "+ident.field+" after the threshold")
	}
}

// TestPasswordConfirmationsCountTowardsLockout: a stolen token or API key cannot guess the
// password through change-password or delete-profile; each wrong guess is audited, the threshold
// locks the account (sign-in too) and then even the right password is refused.
func TestPasswordConfirmationsCountTowardsLockout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		body   func(password string) string
		action string
	}{
		{"change password", http.MethodPost, "/v1/auth/change-password",
			func(pw string) string {
				return fmt.Sprintf(`{"current_password":%q,"new_password":"a brand new password"}`, pw)
			}, "auth.password_change"},
		{"delete profile", http.MethodDelete, "/v1/auth/profile",
			func(pw string) string { return fmt.Sprintf(`{"password":%q}`, pw) }, "auth.profile_delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testutil.NewServer(t)
			admin := s.Admin(t, "root@example.com")
			u := s.Register(t, "victim@example.com")
			stolen := map[string]string{"X-API-Key": createKey(t, s, u, `{"name":"stolen"}`).Secret}
			for i := range lockoutThreshold - 1 {
				resp, raw := s.Do(t, tt.method, tt.path, tt.body(fmt.Sprintf("guess number %d", i)), stolen)
				if p := decodeProblem(t, resp, raw, http.StatusForbidden); p.Code != "invalid_password" {
					t.Fatalf("guess %d: code %q", i, p.Code)
				}
			}
			resp, raw := s.Do(t, tt.method, tt.path, tt.body("the last guess"), stolen)
			assertLocked(t, resp, raw, "the guess that locks")
			resp, raw = s.Do(t, tt.method, tt.path, tt.body(u.Password), stolen)
			assertLocked(t, resp, raw, "the right password once locked")
			resp, raw = login(t, s, u.Email, u.Password)
			assertLocked(t, resp, raw, "sign-in once locked")
			assertAudit(t, s, admin, tt.action, lockoutThreshold+1) // every wrong guess and the refusal
			assertAudit(t, s, admin, "auth.lockout", 1)
			if got := status(t, s, u.Bearer()); got != http.StatusOK {
				t.Errorf("the account is still there and usable by its session: profile = %d", got)
			}
		})
	}
}
