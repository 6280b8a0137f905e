package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/app"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
)

// code is the apperr code of err ("" when err is not an application error).
func code(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// A long-lived connection (the event feed) re-checks its caller's credentials with StillValid:
// an API key stops being valid the moment it is revoked, an access token once it has expired,
// a principal with no credential is never valid, and a database that cannot answer is an error,
// never a yes.
func TestStillValidEndsRevokedAndExpiredCredentials(t *testing.T) {
	ctx := context.Background()
	a, err := app.New(ctx, baseConfig(t), quietLog(), "test")
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			a.Close()
		}
	}()
	pair, err := a.Accounts.Register(ctx, auth.Registration{Email: "still-valid@example.com", Password: "a long enough passphrase", ClientType: "web"})
	if err != nil {
		t.Fatal(err)
	}
	owner := auth.Principal{UserID: pair.User.ID, Roles: pair.User.Roles}
	key, _, err := a.Accounts.CreateAPIKey(ctx, owner, "feed", nil)
	if err != nil {
		t.Fatal(err)
	}
	byKey := auth.Principal{UserID: pair.User.ID, APIKeyID: key.ID}
	if err := a.Accounts.StillValid(ctx, byKey); err != nil {
		t.Fatalf("a live API key: StillValid = %v", err)
	}
	if err := a.Accounts.RevokeAPIKey(ctx, owner, key.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Accounts.StillValid(ctx, byKey); code(err) != "invalid_api_key" {
		t.Errorf("a revoked API key: StillValid = %v, want invalid_api_key", err)
	}
	expired := auth.Principal{UserID: pair.User.ID, TokenID: uuid.NewString(), FamilyID: uuid.New(), ExpiresAt: time.Now().Add(-time.Second)}
	if err := a.Accounts.StillValid(ctx, expired); code(err) != "invalid_token" {
		t.Errorf("an expired access token: StillValid = %v, want invalid_token", err)
	}
	if err := a.Accounts.StillValid(ctx, auth.Principal{UserID: pair.User.ID}); code(err) != "unauthenticated" {
		t.Errorf("no credential: StillValid = %v, want unauthenticated", err)
	}

	a.Close()
	closed = true
	unknown := auth.Principal{UserID: pair.User.ID, APIKeyID: uuid.New()}
	if err := a.Accounts.StillValid(ctx, unknown); err == nil || code(err) == "invalid_api_key" {
		t.Errorf("with the database closed: StillValid = %v, want the database's error, not a verdict on the key", err)
	}
}
