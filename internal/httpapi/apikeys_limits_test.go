package httpapi_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestAPIKeyCapPerUser: working keys are capped (409 api_key_limit_reached), a revoked key frees
// a place, and concurrent creates cannot overshoot the cap.
func TestAPIKeyCapPerUser(t *testing.T) {
	t.Parallel()
	const maxKeys = 3
	s := testutil.NewServer(t, testutil.WithConfig(func(c *config.Config) { c.MaxAPIKeysPerUser = maxKeys }))
	u := s.Register(t, "many-keys@example.com")
	var first api.APIKeySecret
	for i := range maxKeys {
		k := createKey(t, s, u, `{"name":"k"}`)
		if i == 0 {
			first = k
		}
	}
	resp, raw := s.Do(t, http.MethodPost, keysPath, `{"name":"one too many"}`, u.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusConflict); p.Code != "api_key_limit_reached" {
		t.Fatalf("beyond the cap: code %q", p.Code)
	}
	if resp, raw := s.Do(t, http.MethodDelete, keysPath+"/"+first.ApiKey.Id.String(), nil, u.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke = %d %s", resp.StatusCode, raw)
	}
	createKey(t, s, u, `{"name":"in the freed place"}`)

	racer := s.Register(t, "racer@example.com")
	var created atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, _ := s.Do(t, http.MethodPost, keysPath, `{"name":"race"}`, racer.Bearer())
			if resp.StatusCode == http.StatusCreated {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	if got := created.Load(); got != maxKeys {
		t.Errorf("8 concurrent creates made %d keys, want the cap %d", got, maxKeys)
	}
}

// TestAPIKeyTrafficSpendsTheOwnersBudget: requests through several keys of one user share the
// user's budget (a key does not multiply it), and a refused request gives its units back.
func TestAPIKeyTrafficSpendsTheOwnersBudget(t *testing.T) {
	t.Parallel()
	const limit = 6
	s := testutil.NewServer(t, testutil.WithConfig(func(c *config.Config) {
		c.RateLimitDefault = config.RatePolicy{Limit: limit, Period: time.Hour}
	}))
	u := s.Register(t, "budget@example.com")
	k1 := map[string]string{"X-API-Key": createKey(t, s, u, `{"name":"one"}`).Secret} // user: 1 spent
	k2 := map[string]string{"X-API-Key": createKey(t, s, u, `{"name":"two"}`).Secret} // user: 2 spent
	for range 3 {                                                                     // refused by role: the units come back to the key and to the user
		resp, raw := s.Do(t, http.MethodGet, "/v1/admin/users", nil, k1)
		decodeProblem(t, resp, raw, http.StatusForbidden)
	}
	resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, k1) // user: 3
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("RateLimit"), `"default";r=3;`) {
		t.Fatalf("first key = %d RateLimit %q, want 200 with the owner's 3 left", resp.StatusCode, resp.Header.Get("RateLimit"))
	}
	for range 3 { // user: 4, 5, 6
		if got := status(t, s, k2); got != http.StatusOK {
			t.Fatalf("second key within the owner's budget = %d", got)
		}
	}
	for _, h := range []map[string]string{k1, k2, u.Bearer()} {
		resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, h)
		if p := decodeProblem(t, resp, raw, http.StatusTooManyRequests); p.Code != "rate_limited" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("owner's budget spent: code %q Retry-After %q", p.Code, resp.Header.Get("Retry-After"))
		}
	}
}

// TestChangePasswordRevokesAPIKeysUnlessAsked: by default a password change ends the account's
// API keys; revoke_api_keys=false keeps them.
func TestChangePasswordRevokesAPIKeysUnlessAsked(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	tests := []struct {
		name   string
		field  string
		status int
	}{
		{"default revokes", ``, http.StatusUnauthorized},
		{"true revokes", `,"revoke_api_keys":true`, http.StatusUnauthorized},
		{"false keeps", `,"revoke_api_keys":false`, http.StatusOK},
	}
	for i, tt := range tests {
		u := s.Register(t, "pw"+string(rune('a'+i))+"@example.com")
		key := map[string]string{"X-API-Key": createKey(t, s, u, `{"name":"ci"}`).Secret}
		resp, raw := s.Do(t, http.MethodPost, "/v1/auth/change-password",
			`{"current_password":"`+u.Password+`","new_password":"another long password"`+tt.field+`}`, u.Bearer())
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: change password = %d %s", tt.name, resp.StatusCode, raw)
		}
		if got := status(t, s, key); got != tt.status {
			t.Errorf("%s: the API key afterwards = %d, want %d", tt.name, got, tt.status)
		}
	}
}

// TestAPIKeySecretIsNeverReplayed: a retried create with the same Idempotency-Key creates nothing
// and shows no secret (409 secret_not_replayable), a retried failure still replays, a rotate is
// never replayed, and revoking the key drops the stored outcome.
func TestAPIKeySecretIsNeverReplayed(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "replay-secret@example.com")
	first, raw := s.Do(t, http.MethodPost, keysPath, `{"name":"ci"}`, withKey(u, "create-1"))
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("create = %d %s", first.StatusCode, raw)
	}
	secret := raw
	again, raw := s.Do(t, http.MethodPost, keysPath, `{"name":"ci"}`, withKey(u, "create-1"))
	if p := decodeProblem(t, again, raw, http.StatusConflict); p.Code != "secret_not_replayable" {
		t.Fatalf("retry: code %q", p.Code)
	}
	if strings.Contains(string(raw), "ccb_") {
		t.Errorf("the retry shows a secret: %s", raw)
	}
	ids := keyIDs(t, s, u)
	if len(ids) != 1 || !strings.Contains(string(secret), ids[0]) {
		t.Fatalf("keys after the retry: %v", ids)
	}
	var stored int
	count := func() int {
		t.Helper()
		if err := s.App.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM idempotency_keys WHERE owner = $1 AND response_body IS NOT NULL AND length(response_body) > 64`, u.UserID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		return stored
	}
	if n := count(); n != 0 {
		t.Errorf("%d stored bodies of a secret-bearing create, want none", n)
	}

	rot1, raw1 := s.Do(t, http.MethodPost, keysPath+"/"+ids[0]+"/rotate", nil, withKey(u, "rotate-1"))
	rot2, raw2 := s.Do(t, http.MethodPost, keysPath+"/"+ids[0]+"/rotate", nil, withKey(u, "rotate-1"))
	if rot1.StatusCode != http.StatusOK || rot2.StatusCode != http.StatusOK || rot2.Header.Get("Idempotent-Replayed") != "" || string(raw1) == string(raw2) {
		t.Errorf("rotate twice = %d, %d replayed=%q; want two fresh secrets", rot1.StatusCode, rot2.StatusCode, rot2.Header.Get("Idempotent-Replayed"))
	}

	if resp, raw := s.Do(t, http.MethodDelete, keysPath+"/"+ids[0], nil, u.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke = %d %s", resp.StatusCode, raw)
	}
	var left int
	if err := s.App.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM idempotency_keys WHERE owner = $1`, u.UserID).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d stored responses left after the key was revoked, want 0", left)
	}
}
