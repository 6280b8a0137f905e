package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkAuthenticatedRequest measures GET /v1/auth/profile through the whole router (spec
// validation, authentication, revocation check, rate limit) with each kind of credential, over
// a plain client (the validating one would add its own cost).
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
			client := &http.Client{}
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/auth/profile", nil)
				req.Header.Set(header[0], header[1])
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("profile: %v %v", err, resp)
				}
				resp.Body.Close()
			}
		})
	}
}
