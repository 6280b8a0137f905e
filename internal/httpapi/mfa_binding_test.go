package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A sealed TOTP secret is bound to its account: copied onto another account's row (a restore
// gone wrong, or someone able to write that one table) it does not open, so the other account's
// authenticator never signs this one in. And an active authenticator cannot be verified again.
func TestTOTPSecretIsBoundToItsAccount(t *testing.T) {
	t.Parallel()
	s, clock := mfaServer(t)
	a := enableTOTP(t, s, clock, "totp-owner@example.com")
	b := enableTOTP(t, s, clock, "totp-victim@example.com")

	clock.Advance(30 * time.Second)
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/mfa/totp/verify", fmt.Sprintf(`{"code":%q}`, codeAt(t, b.Secret, clock.Now())), b.Bearer())
	wantProblem(t, resp, raw, http.StatusConflict, "mfa_already_enabled")

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.App.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	tag, err := conn.Exec(ctx, `UPDATE user_totp SET secret_enc = (SELECT t.secret_enc FROM user_totp t JOIN users u ON u.id = t.user_id WHERE u.email = $1)
		WHERE user_id = (SELECT id FROM users WHERE email = $2)`, a.Email, b.Email)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("copy the secret: %v %v", tag, err)
	}

	clock.Advance(30 * time.Second)
	pending := loginMFA(t, s, b)
	resp, raw = challenge(t, s, fmt.Sprintf(`{"mfa_token":%q,"totp_code":%q}`, pending.MfaToken, codeAt(t, a.Secret, clock.Now())))
	if resp.StatusCode < 400 || strings.Contains(string(raw), "access_token") {
		t.Fatalf("the copied secret signed the other account in: %d %s", resp.StatusCode, raw)
	}
	// The row no longer opens: an integrity failure (500, logged), not a wrong code that would
	// count towards the victim's lockout.
	wantProblem(t, resp, raw, http.StatusInternalServerError, "internal_error")
}
