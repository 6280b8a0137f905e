package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkAuthenticatedRequestDPoP is GET /v1/auth/profile through the whole router with a
// bearer token and with a DPoP-bound token plus its ES256 proof (proofs signed beforehand, as a
// client would). The difference of the two p50s is what DPoP verification adds to a request.
func BenchmarkAuthenticatedRequestDPoP(b *testing.B) {
	s := testutil.NewServer(b)
	plain := s.Register(b, "bench-plain@example.com")
	key := testutil.NewDPoPKey(b, jwa.ES256)
	s.Register(b, "bench-dpop@example.com")
	resp, body := s.Do(b, http.MethodPost, "/v1/auth/login", `{"email":"bench-dpop@example.com","password":"correct horse battery staple"}`,
		map[string]string{"DPoP": key.Proof(b, http.MethodPost, s.URL+"/v1/auth/login", "")})
	bound := testutil.DecodeSession(b, body, "bench-dpop@example.com", "")
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("login: %d", resp.StatusCode)
	}
	url := s.URL + "/v1/auth/profile"
	b.Run("bearer", func(b *testing.B) {
		benchRequests(b, url, func(i int, req *http.Request) { req.Header.Set("Authorization", "Bearer "+plain.AccessToken) })
	})
	b.Run("dpop", func(b *testing.B) {
		proofs := make([]string, b.N)
		for i := range proofs {
			proofs[i] = key.Proof(b, http.MethodGet, url, bound.AccessToken)
		}
		benchRequests(b, url, func(i int, req *http.Request) {
			req.Header.Set("Authorization", "DPoP "+bound.AccessToken)
			req.Header.Set("DPoP", proofs[i])
		})
	})
}

// benchRequests sends b.N authenticated GETs of url (headers set by sign) and reports the median.
func benchRequests(b *testing.B, url string, sign func(int, *http.Request)) {
	b.Helper()
	client := &http.Client{}
	d := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		sign(i, req)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("profile: %v %v", err, resp)
		}
		resp.Body.Close()
		d[i] = time.Since(start)
	}
	b.StopTimer()
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
}
