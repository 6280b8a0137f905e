package httpapi_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func madeUpKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "ccb_" + base64.RawURLEncoding.EncodeToString(b)
}

// TestRefusedCredentialsAreThrottledPerAddress: made-up API keys from one address answer 401 up
// to the failure budget and then 429 before any lookup — a genuine key from that address too —
// while anonymous requests and successful ones spend nothing of it.
func TestRefusedCredentialsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	const budget = 5
	s := testutil.NewServer(t, testutil.WithConfig(func(c *config.Config) {
		c.RateLimitAuthFailures = config.RatePolicy{Limit: budget, Period: time.Minute}
	}))
	owner := s.Register(t, "keys@example.com")
	good := map[string]string{"X-API-Key": createKey(t, s, owner, `{"name":"real"}`).Secret}
	for range 3 { // successes and anonymous requests do not count
		if got := status(t, s, good); got != http.StatusOK {
			t.Fatalf("genuine key = %d", got)
		}
		if got := status(t, s, nil); got != http.StatusUnauthorized {
			t.Fatalf("anonymous = %d", got)
		}
	}
	for range budget {
		resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, map[string]string{"X-API-Key": madeUpKey()})
		decodeProblem(t, resp, raw, http.StatusUnauthorized)
	}
	for _, h := range []map[string]string{{"X-API-Key": madeUpKey()}, {"Authorization": "Bearer not-a-token"}, good} {
		resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, h)
		p := decodeProblem(t, resp, raw, http.StatusTooManyRequests)
		if p.Code != "auth_failures_exceeded" || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit") == "" {
			t.Errorf("beyond the budget: code %q Retry-After %q RateLimit %q", p.Code, resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit"))
		}
	}
	if got := status(t, s, nil); got != http.StatusUnauthorized {
		t.Errorf("anonymous requests are not held back: %d", got)
	}
}

// TestUnknownAPIKeyIsRememberedBriefly proves the negative cache answers from memory: a key that
// matched nothing is inserted into PostgreSQL behind the service's back and is still refused,
// which a lookup would not do; a key never presented before is looked up and works.
func TestUnknownAPIKeyIsRememberedBriefly(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "negative@example.com")
	seen, fresh := madeUpKey(), madeUpKey()
	if got := status(t, s, map[string]string{"X-API-Key": seen}); got != http.StatusUnauthorized {
		t.Fatalf("made-up key = %d", got)
	}
	plantKey(t, s, owner, seen)
	plantKey(t, s, owner, fresh)
	if got := status(t, s, map[string]string{"X-API-Key": seen}); got != http.StatusUnauthorized {
		t.Errorf("a key remembered as unknown = %d, want 401 without a lookup", got)
	}
	if got := status(t, s, map[string]string{"X-API-Key": fresh}); got != http.StatusOK {
		t.Errorf("a key never refused before = %d, want 200 (looked up)", got)
	}
}

// plantKey inserts an API key with secret for owner into PostgreSQL behind the service's back, so
// that whether the service answers it from memory or looks it up shows.
func plantKey(t *testing.T, s *testutil.Server, owner testutil.Session, secret string) {
	t.Helper()
	hash := sha256.Sum256([]byte(secret))
	_, err := s.App.Store.Pool.Exec(context.Background(),
		`INSERT INTO api_keys (user_id, name, prefix, key_hash) VALUES ($1, 'planted', $2, $3)`, owner.UserID, secret[:12], hash[:])
	if err != nil {
		t.Fatal(err)
	}
}
