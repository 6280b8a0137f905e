package httpapi_test

import (
	"maps"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestSpentFailureBudgetRefusesEveryCredentialBeforeALookup: the failure budget's peek rides the
// request's own Redis round trip now, yet once an address has spent the budget every kind of
// credential it presents is answered 429 auth_failures_exceeded (with RateLimit and Retry-After)
// — a valid access token, a cached API key, a genuine key this instance never verified, a made-up
// key, a garbage token, and so are a public operation's and a body the guard refuses — and neither unknown key is looked up in PostgreSQL: the genuine one does
// not enter the verified-key cache, and the made-up one is not remembered as unknown (planted in
// PostgreSQL afterwards, it works at once from another address, whose budget is untouched).
func TestSpentFailureBudgetRefusesEveryCredentialBeforeALookup(t *testing.T) {
	t.Parallel()
	const budget = 3
	s := testutil.NewServer(t, testutil.WithConfig(func(c *config.Config) {
		c.RateLimitAuthFailures = config.RatePolicy{Limit: budget, Period: time.Minute}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} // X-Forwarded-For names the address
	}))
	waitCacheLive(t, s, true)
	owner := s.Register(t, "failure-gate@example.com")
	from := func(addr string, h map[string]string) map[string]string {
		out := maps.Clone(h)
		out["X-Forwarded-For"] = addr
		return out
	}
	const spent, other = "203.0.113.20", "203.0.113.21"
	cached := map[string]string{"X-API-Key": createKey(t, s, owner, `{"name":"cached"}`).Secret}
	cachedOn(t, s, from(spent, cached))
	unverified, madeUp := createKey(t, s, owner, `{"name":"unverified"}`).Secret, madeUpKey()
	for range budget {
		resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, from(spent, map[string]string{"X-API-Key": madeUpKey()}))
		decodeProblem(t, resp, raw, http.StatusUnauthorized)
	}
	_, entries := s.App.Accounts.APIKeyCacheState()
	profile := func(h map[string]string) gatedRequest {
		return gatedRequest{http.MethodGet, "/v1/auth/profile", nil, h}
	}
	for _, tc := range []struct {
		name string
		req  gatedRequest
	}{
		{"access token", profile(owner.Bearer())},
		{"cached API key", profile(cached)},
		{"API key never verified here", profile(map[string]string{"X-API-Key": unverified})},
		{"API key never verified here, as a bearer token", profile(map[string]string{"Authorization": "Bearer " + unverified})},
		{"made-up API key", profile(map[string]string{"X-API-Key": madeUp})},
		{"garbage token", profile(map[string]string{"Authorization": "Bearer not-a-token"})},
		// A public operation checks no credential, yet meets the budget, as before.
		{"public operation", gatedRequest{http.MethodGet, "/health", nil, map[string]string{"Authorization": "Bearer not-a-token"}}},
		// Refused by the body guard, before authentication: the 429 still comes first.
		{"body with duplicate members", gatedRequest{http.MethodPost, "/v1/projects", `{"name":"a","name":"b"}`, owner.Bearer()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := s.Do(t, tc.req.method, tc.req.path, tc.req.body, from(spent, tc.req.header))
			p := decodeProblem(t, resp, raw, http.StatusTooManyRequests)
			if p.Code != "auth_failures_exceeded" || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit") == "" {
				t.Errorf("code %q Retry-After %q RateLimit %q", p.Code, resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit"))
			}
		})
	}
	if _, n := s.App.Accounts.APIKeyCacheState(); n > entries {
		t.Errorf("the verified-key cache grew from %d to %d entries: a key was looked up with the budget spent", entries, n)
	}
	plantKey(t, s, owner, madeUp)
	for name, key := range map[string]string{"made-up key, planted since": madeUp, "unverified key": unverified} {
		if got := status(t, s, from(other, map[string]string{"X-API-Key": key})); got != http.StatusOK {
			t.Errorf("%s from another address = %d, want 200 (a 401 means it was looked up before)", name, got)
		}
	}
}

type gatedRequest struct {
	method, path string
	body         any
	header       map[string]string
}

// TestAuthenticatedRequestRedisTrips: the failure budget's peek costs no round trip of its own on
// the success path. A key's first use, looked up in PostgreSQL, makes two Redis round trips, the
// peek going first so that made-up keys cannot cost a lookup once the budget is spent, then the
// request limits (the owner's and the key's); the cached key's next use one (the limits; the
// address's budget was just found whole); and the access token, seen before, one: its limit only,
// its revocation state being known on the instance. Leases are off here, so that no give-back
// sweep shares the count and every limit is a trip (with them, TestBusyCallerIsAdmittedWithoutRedis).
func TestAuthenticatedRequestRedisTrips(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *config.Config) { c.RateLimitLease = 0 })) // the failure throttle is on (testutil's budget)
	waitCacheLive(t, s, true)
	u := s.Register(t, "trips@example.com")
	key := map[string]string{"X-API-Key": createKey(t, s, u, `{"name":"trips"}`).Secret}
	if got := status(t, s, u.Bearer()); got != http.StatusOK { // caches the family's revocation state
		t.Fatalf("access token = %d", got)
	}
	count := &tripCounter{}
	s.App.Redis.AddHook(count.hook())
	for _, tc := range []struct {
		name   string
		header map[string]string
		trips  int64
	}{ // in order: the key's first use looks it up, the second is cached
		{"API key, first use", key, 2},
		{"API key, cached", key, 1},
		{"access token", u.Bearer(), 1},
	} {
		count.reset()
		if got := status(t, s, tc.header); got != http.StatusOK {
			t.Fatalf("%s = %d", tc.name, got)
		}
		if got := count.trips.Load(); got != tc.trips {
			t.Errorf("%s: %d Redis round trips, want %d", tc.name, got, tc.trips)
		}
	}
}
