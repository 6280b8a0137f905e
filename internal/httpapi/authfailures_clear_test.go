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

// TestFailureBudgetSpentElsewhereRefusesGenuineCallersWithinASecond: an instance that found an
// address's failure budget whole lets that address's genuine callers past the gate without asking
// Redis for a second (clearFor); once the budget is spent on another instance, the instance that
// spent it refuses them at once, and the first within that second.
func TestFailureBudgetSpentElsewhereRefusesGenuineCallersWithinASecond(t *testing.T) {
	t.Parallel()
	const budget = 3
	all := instances(t, 2, testutil.WithConfig(func(c *config.Config) {
		c.RateLimitAuthFailures = config.RatePolicy{Limit: budget, Period: time.Hour}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} // X-Forwarded-For names the address
	}))
	a, b := all[0], all[1]
	owner := a.Register(t, "failure-gate-clear@example.com")
	from := func(h map[string]string) map[string]string {
		out := maps.Clone(h)
		out["X-Forwarded-For"] = "203.0.113.30"
		return out
	}
	if got := status(t, a, from(owner.Bearer())); got != http.StatusOK {
		t.Fatalf("a genuine caller before any failure = %d", got)
	}
	for range budget {
		resp, raw := b.Do(t, http.MethodGet, "/v1/auth/profile", nil, from(map[string]string{"Authorization": "Bearer not-a-token"}))
		decodeProblem(t, resp, raw, http.StatusUnauthorized)
	}
	refusedOn := func(s *testutil.Server, h map[string]string) bool {
		resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, from(h))
		if resp.StatusCode == http.StatusOK {
			return false
		}
		if p := decodeProblem(t, resp, raw, http.StatusTooManyRequests); p.Code != "auth_failures_exceeded" {
			t.Fatalf("refused with %s, want auth_failures_exceeded", raw)
		}
		return true
	}
	if !refusedOn(b, owner.Bearer()) {
		t.Error("the instance that spent the budget admitted a genuine caller from the address")
	}
	deadline := time.Now().Add(time.Second + 500*time.Millisecond)
	for !refusedOn(a, owner.Bearer()) {
		if time.Now().After(deadline) {
			t.Fatal("a genuine caller from the address is still admitted more than a second after its budget was spent")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !refusedOn(a, map[string]string{"Authorization": "Bearer not-a-token"}) {
		t.Error("a garbage token passed the gate of a spent budget")
	}
}
