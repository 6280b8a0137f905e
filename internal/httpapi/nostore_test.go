package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/httpapi"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// Every response that carries a token or a secret must stay out of caches (RFC 6749 §5.1).
func TestTokenAndSecretResponsesAreNotStored(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	const password = "correct horse battery staple"
	user := s.Register(t, "nostore@example.com")
	key := createKey(t, s, user, `{"name":"ci"}`)
	idem := map[string]string{"Authorization": "Bearer " + user.AccessToken, "Idempotency-Key": "nostore-1"}

	form := s.Request(t, http.MethodPost, "/v1/auth/login", url.Values{"grant_type": {"password"}, "username": {user.Email}, "password": {password}}.Encode(), nil)
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	cases := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"register", s.Request(t, http.MethodPost, "/v1/auth/register", fmt.Sprintf(`{"email":"nostore2@example.com","password":%q}`, password), nil), http.StatusCreated},
		{"login json", s.Request(t, http.MethodPost, "/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, user.Email, password), nil), http.StatusOK},
		{"login form", form, http.StatusOK},
		{"refresh", s.Request(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, user.RefreshToken), nil), http.StatusOK},
		{"create api key", s.Request(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"one"}`, idem), http.StatusCreated},
		// A replay never shows the secret again (409 secret_not_replayable), and is not stored either.
		{"create api key replayed", s.Request(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"one"}`, idem), http.StatusConflict},
		{"rotate api key", s.Request(t, http.MethodPost, "/v1/auth/api-keys/"+key.ApiKey.Id.String()+"/rotate", nil, user.Bearer()), http.StatusOK},
		// Failures of these operations carry no secret, but the same headers cost nothing.
		{"login failure", s.Request(t, http.MethodPost, "/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":"wrong password"}`, user.Email), nil), http.StatusUnauthorized},
	}
	for _, c := range cases {
		resp, body := s.Client.Do(t, c.req)
		if resp.StatusCode != c.want {
			t.Errorf("%s = %d, want %d: %s", c.name, resp.StatusCode, c.want, body)
			continue
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", c.name, got)
		}
		if got := resp.Header.Get("Pragma"); got != "no-cache" {
			t.Errorf("%s: Pragma = %q, want no-cache", c.name, got)
		}
	}
	// Responses without a secret are left to the usual caching rules.
	if resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, user.Bearer()); resp.Header.Get("Pragma") != "" {
		t.Errorf("GET /v1/auth/profile: Pragma = %q, want none", resp.Header.Get("Pragma"))
	}
}

// The spec is what opts an operation in, so no token- or secret-carrying operation added later
// can go without the headers: each success response with such a body must declare them.
func TestSecretSchemasDeclareNoStore(t *testing.T) {
	t.Parallel()
	spec, err := httpapi.Spec()
	if err != nil {
		t.Fatal(err)
	}
	secretSchemas := []string{"#/components/schemas/AuthTokens", "#/components/schemas/APIKeySecret"}
	found := 0
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			for status, r := range op.Responses.Map() {
				if !strings.HasPrefix(status, "2") || r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					if mt.Schema == nil || !contains(secretSchemas, mt.Schema.Ref) {
						continue
					}
					found++
					for _, h := range []string{"Cache-Control", "Pragma"} {
						if hd := r.Value.Headers[h]; hd == nil || hd.Value == nil || !hd.Value.Required {
							t.Errorf("%s %s %s returns %s without a required %s header", method, path, status, mt.Schema.Ref, h)
						}
					}
				}
			}
		}
	}
	if found < 5 {
		t.Errorf("found %d token or secret responses, want at least 5", found)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
