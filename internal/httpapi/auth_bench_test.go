package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkAuthenticatedRequest measures GET /v1/auth/profile through the whole router (spec
// validation, authentication, revocation check, rate limit) with each kind of credential, over
// a plain client (the validating one would add its own cost). pg-acquires/op counts the
// PostgreSQL pool checkouts per request (one per statement outside a transaction): the profile
// read itself is one, so anything above 1 is authentication's.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	s := testutil.NewServer(b)
	u := s.Register(b, "bench-auth@example.com")
	_, body := s.Do(b, http.MethodPost, "/v1/auth/api-keys", `{"name":"bench"}`, u.Bearer())
	var key struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(body, &key); err != nil {
		b.Fatal(err)
	}
	for name, header := range map[string][2]string{
		"jwt":     {"Authorization", "Bearer " + u.AccessToken},
		"api-key": {"X-API-Key", key.Secret},
	} {
		b.Run(name, func(b *testing.B) {
			before := s.App.Store.Pool.Stat().AcquireCount()
			benchRequests(b, s.URL+"/v1/auth/profile", func(_ int, req *http.Request) { req.Header.Set(header[0], header[1]) })
			b.ReportMetric(float64(s.App.Store.Pool.Stat().AcquireCount()-before)/float64(b.N), "pg-acquires/op")
		})
	}
}
