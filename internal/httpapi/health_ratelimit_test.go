package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// The liveness probe says `x-rate-limit: none`: it is charged to no budget (a limit would cost a
// Redis round trip per probe), while the operations around it still are.
func TestHealthIsNotRateLimited(t *testing.T) {
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.RateLimitDefault = testutil.RatePolicy{Limit: 1, Period: time.Minute}
	}))
	for i := range 3 {
		resp, body := s.Do(t, http.MethodGet, "/health", nil, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit") != "" {
			t.Fatalf("GET /health #%d = %d, RateLimit %q: %s", i+1, resp.StatusCode, resp.Header.Get("RateLimit"), body)
		}
	}
	if resp, _ := s.Do(t, http.MethodGet, "/ready", nil, nil); resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit") == "" {
		t.Fatalf("first GET /ready = %d, RateLimit %q; want 200 with the default policy's headers", resp.StatusCode, resp.Header.Get("RateLimit"))
	}
	if resp, _ := s.Do(t, http.MethodGet, "/ready", nil, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second GET /ready = %d; want 429 under a limit of 1", resp.StatusCode)
	}
}
