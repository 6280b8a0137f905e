package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestBusyCallerIsAdmittedWithoutRedis: once a caller has been seen, its next requests — with an
// access token or an API key — are authenticated, checked for revocation, past the failure gate
// and charged to its rate limit without a Redis round trip each (the access-token and API-key
// caches, the gate's memory of a whole budget, the leased request units), and the fast path
// still refuses at once what it must: the token after a logout, the key once revoked.
func TestBusyCallerIsAdmittedWithoutRedis(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	waitCacheLive(t, s, true)
	u := s.Register(t, "fast-path@example.com")
	key := createKey(t, s, u, `{"name":"fast"}`)
	credentials := []map[string]string{u.Bearer(), {"X-API-Key": key.Secret}}
	const requests = 20
	for _, h := range credentials { // seen once, and busy: the second take leases units ahead
		for range 3 {
			if got := status(t, s, h); got != http.StatusOK {
				t.Fatalf("warm-up = %d", got)
			}
		}
	}
	trips := &tripCounter{}
	s.App.Redis.AddHook(trips.hook())
	for _, h := range credentials {
		for range requests {
			if got := status(t, s, h); got != http.StatusOK {
				t.Fatalf("GET /v1/auth/profile = %d", got)
			}
		}
	}
	// Background work may make a trip or two (a lease expiring goes back); a request each is 40.
	if n := trips.trips.Load(); n > 8 {
		t.Fatalf("%d requests made %d Redis round trips", 2*requests, n)
	}
	if resp, raw := s.Do(t, http.MethodDelete, "/v1/auth/api-keys/"+key.ApiKey.Id.String(), nil, u.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke the key = %d %s", resp.StatusCode, raw)
	}
	if got := status(t, s, credentials[1]); got != http.StatusUnauthorized {
		t.Errorf("the revoked key = %d, want 401", got)
	}
	if resp, raw := s.Do(t, http.MethodPost, "/v1/auth/logout", nil, u.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d %s", resp.StatusCode, raw)
	}
	if got := status(t, s, credentials[0]); got != http.StatusUnauthorized {
		t.Errorf("the token after its logout = %d, want 401", got)
	}
}
