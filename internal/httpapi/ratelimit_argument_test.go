package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestRequestLimitArgumentErrorIsNoOutage: the "default" policy fails open when Redis is down,
// but a decision the limiter refuses to make (here a policy of zero requests, which config
// would never load) is a bug, not an outage: the request is refused, not admitted unlimited.
func TestRequestLimitArgumentErrorIsNoOutage(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.RateLimitDefault = testutil.RatePolicy{Limit: 0, Period: time.Minute}
	}))
	u := s.Register(t, "limit-argument@example.com") // registering is under the "auth" policy
	resp, raw := s.Do(t, http.MethodGet, "/v1/models", nil, u.Bearer())
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("a limiter argument error admitted the request: %d %s", resp.StatusCode, raw)
	}
	decodeProblem(t, resp, raw, http.StatusInternalServerError)
}
