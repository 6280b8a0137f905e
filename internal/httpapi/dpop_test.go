package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

const dpopPassword = "correct horse battery staple"

// dpopSignIn registers email and signs in with a proof of key; it returns the AuthTokens body.
func dpopSignIn(t *testing.T, s *testutil.Server, key *testutil.DPoPKey, email string) api.AuthTokens {
	t.Helper()
	s.Register(t, email)
	resp, body := s.Do(t, http.MethodPost, "/v1/auth/login", `{"email":"`+email+`","password":"`+dpopPassword+`"}`,
		map[string]string{"DPoP": key.Proof(t, http.MethodPost, s.URL+"/v1/auth/login", "")})
	return decodeInto[api.AuthTokens](t, resp, body, http.StatusOK)
}

// accessClaims decodes the (already verified by the server) payload of an access token.
func accessClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("token payload: %v", err)
	}
	return claims
}

// withSignatureOf is proof with the signature part of donor.
func withSignatureOf(proof, donor string) string {
	return proof[:strings.LastIndexByte(proof, '.')] + donor[strings.LastIndexByte(donor, '.'):]
}

func dpopHeaders(token, proof string) map[string]string {
	return map[string]string{"Authorization": "DPoP " + token, "DPoP": proof}
}

// wantDPoPError asserts a 401 problem whose DPoP challenge names errCode.
func wantDPoPError(t *testing.T, resp *http.Response, body []byte, errCode string) {
	t.Helper()
	decodeProblem(t, resp, body, http.StatusUnauthorized)
	if ch := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "DPoP ") || !strings.Contains(ch, `error="`+errCode+`"`) {
		t.Fatalf("WWW-Authenticate = %q, want DPoP error=%q", ch, errCode)
	}
}

func TestDPoPBoundLoginAndUse(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	key := testutil.NewDPoPKey(t, jwa.ES256)
	tokens := dpopSignIn(t, s, key, "dpop-use@example.com")
	if tokens.TokenType != api.AuthTokensTokenTypeDPoP {
		t.Fatalf("token_type = %q, want DPoP", tokens.TokenType)
	}
	cnf, _ := accessClaims(t, tokens.AccessToken)["cnf"].(map[string]any)
	if cnf["jkt"] != key.JKT {
		t.Fatalf("cnf = %v, want jkt %s", cnf, key.JKT)
	}
	profile := s.URL + "/v1/auth/profile"
	resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, dpopHeaders(tokens.AccessToken, key.Proof(t, http.MethodGet, profile, tokens.AccessToken)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DPoP request = %d %s", resp.StatusCode, body)
	}

	replayed := key.Proof(t, http.MethodGet, profile, tokens.AccessToken)
	if resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, dpopHeaders(tokens.AccessToken, replayed)); resp.StatusCode != http.StatusOK {
		t.Fatalf("first use of proof = %d %s", resp.StatusCode, body)
	}
	other := testutil.NewDPoPKey(t, jwa.ES256)
	stale := time.Now().Add(-5 * time.Minute)
	cases := []struct {
		name    string
		header  map[string]string
		errCode string
	}{
		{"bound token as bearer", map[string]string{"Authorization": "Bearer " + tokens.AccessToken}, "invalid_token"},
		{"bound token without proof", map[string]string{"Authorization": "DPoP " + tokens.AccessToken}, "invalid_dpop_proof"},
		{"proof replayed (same jti)", dpopHeaders(tokens.AccessToken, replayed), "invalid_dpop_proof"},
		{"wrong htu", dpopHeaders(tokens.AccessToken, key.Proof(t, http.MethodGet, s.URL+"/v1/auth/api-keys", tokens.AccessToken)), "invalid_dpop_proof"},
		{"wrong htm", dpopHeaders(tokens.AccessToken, key.Proof(t, http.MethodPost, profile, tokens.AccessToken)), "invalid_dpop_proof"},
		{"stale iat", dpopHeaders(tokens.AccessToken, key.ProofWith(t, testutil.DPoPClaims{HTM: http.MethodGet, HTU: profile, AccessToken: tokens.AccessToken, IssuedAt: stale})), "invalid_dpop_proof"},
		{"proof for another token (ath)", dpopHeaders(tokens.AccessToken, key.Proof(t, http.MethodGet, profile, "another token")), "invalid_dpop_proof"},
		{"another key's proof", dpopHeaders(tokens.AccessToken, other.Proof(t, http.MethodGet, profile, tokens.AccessToken)), "invalid_dpop_proof"},
		// Claims and header key right, only the signature wrong: what the signature check, run
		// beside the Redis trip, alone refuses.
		{"signature by another key", dpopHeaders(tokens.AccessToken, withSignatureOf(key.Proof(t, http.MethodGet, profile, tokens.AccessToken),
			other.Proof(t, http.MethodGet, profile, tokens.AccessToken))), "invalid_dpop_proof"},
		{"signature of another proof", dpopHeaders(tokens.AccessToken, withSignatureOf(key.Proof(t, http.MethodGet, profile, tokens.AccessToken),
			key.Proof(t, http.MethodGet, profile, tokens.AccessToken))), "invalid_dpop_proof"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, tc.header)
			wantDPoPError(t, resp, body, tc.errCode)
		})
	}
}

func TestDPoPBoundRefresh(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	key := testutil.NewDPoPKey(t, jwa.EdDSA)
	tokens := dpopSignIn(t, s, key, "dpop-refresh@example.com")
	refreshURL := s.URL + "/v1/auth/refresh"
	body := `{"refresh_token":"` + tokens.RefreshToken + `"}`

	other := testutil.NewDPoPKey(t, jwa.EdDSA)
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/refresh", body, map[string]string{"DPoP": other.Proof(t, http.MethodPost, refreshURL, "")})
	wantDPoPError(t, resp, raw, "invalid_dpop_proof")
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/refresh", body, nil)
	wantDPoPError(t, resp, raw, "invalid_dpop_proof")

	// Refused attempts spent nothing: the same refresh token works with the right key.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/refresh", body, map[string]string{"DPoP": key.Proof(t, http.MethodPost, refreshURL, "")})
	next := decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK)
	cnf, _ := accessClaims(t, next.AccessToken)["cnf"].(map[string]any)
	if next.TokenType != api.AuthTokensTokenTypeDPoP || cnf["jkt"] != key.JKT {
		t.Fatalf("refreshed pair = %s, cnf %v", next.TokenType, cnf)
	}
	profile := s.URL + "/v1/auth/profile"
	if resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, dpopHeaders(next.AccessToken, key.Proof(t, http.MethodGet, profile, next.AccessToken))); resp.StatusCode != http.StatusOK {
		t.Fatalf("refreshed token = %d %s", resp.StatusCode, raw)
	}
}

func TestDPoPProofAtSignInMustBeValid(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	key := testutil.NewDPoPKey(t, jwa.RS256)
	// Registration binds too.
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/register", `{"email":"dpop-reg@example.com","password":"`+dpopPassword+`"}`,
		map[string]string{"DPoP": key.Proof(t, http.MethodPost, s.URL+"/v1/auth/register", "")})
	if reg := decodeInto[api.AuthTokens](t, resp, raw, http.StatusCreated); reg.TokenType != api.AuthTokensTokenTypeDPoP {
		t.Fatalf("register token_type = %s", reg.TokenType)
	}
	login := `{"email":"dpop-reg@example.com","password":"` + dpopPassword + `"}`
	for name, proof := range map[string]string{
		"garbage":   "not-a-proof",
		"wrong htu": key.Proof(t, http.MethodPost, s.URL+"/v1/auth/register", ""),
		"stale iat": key.ProofWith(t, testutil.DPoPClaims{HTM: http.MethodPost, HTU: s.URL + "/v1/auth/login", IssuedAt: time.Now().Add(-time.Hour)}),
		"wrong htm": key.Proof(t, http.MethodGet, s.URL+"/v1/auth/login", ""),
	} {
		resp, raw := s.Do(t, http.MethodPost, "/v1/auth/login", login, map[string]string{"DPoP": proof})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: login = %d %s", name, resp.StatusCode, raw)
			continue
		}
		wantDPoPError(t, resp, raw, "invalid_dpop_proof")
	}
}

func TestUnboundClientsUnchanged(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "dpop-none@example.com")
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/login", `{"email":"dpop-none@example.com","password":"`+u.Password+`"}`, nil)
	tokens := decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK)
	if _, bound := accessClaims(t, tokens.AccessToken)["cnf"]; tokens.TokenType != api.AuthTokensTokenTypeBearer || bound {
		t.Fatalf("unbound login: token_type %s, cnf present %v", tokens.TokenType, bound)
	}
	if resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, map[string]string{"Authorization": "Bearer " + tokens.AccessToken}); resp.StatusCode != http.StatusOK {
		t.Fatalf("bearer = %d %s", resp.StatusCode, raw)
	}
	// A proof sent beside a bearer token is ignored on resource requests: it binds nothing there.
	key := testutil.NewDPoPKey(t, jwa.ES256)
	resp, raw = s.Do(t, http.MethodGet, "/v1/auth/profile", nil, map[string]string{"Authorization": "Bearer " + tokens.AccessToken,
		"DPoP": key.Proof(t, http.MethodGet, s.URL+"/v1/auth/profile", tokens.AccessToken)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bearer with a stray proof = %d %s", resp.StatusCode, raw)
	}
	// An unbound token in the DPoP scheme is not a bound one.
	resp, raw = s.Do(t, http.MethodGet, "/v1/auth/profile", nil, dpopHeaders(tokens.AccessToken, key.Proof(t, http.MethodGet, s.URL+"/v1/auth/profile", tokens.AccessToken)))
	wantDPoPError(t, resp, raw, "invalid_token")
	// Refreshing an unbound session with a proof keeps it unbound.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/refresh", `{"refresh_token":"`+tokens.RefreshToken+`"}`,
		map[string]string{"DPoP": key.Proof(t, http.MethodPost, s.URL+"/v1/auth/refresh", "")})
	if next := decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK); next.TokenType != api.AuthTokensTokenTypeBearer {
		t.Fatalf("refreshed unbound session: token_type %s", next.TokenType)
	}
	// API keys are unaffected.
	_, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"k"}`, u.Bearer())
	var created struct {
		Secret string `json:"secret"`
	}
	if json.Unmarshal(raw, &created) != nil || created.Secret == "" {
		t.Fatalf("api key: %s", raw)
	}
	if resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, map[string]string{"X-API-Key": created.Secret}); resp.StatusCode != http.StatusOK {
		t.Fatalf("api key = %d %s", resp.StatusCode, raw)
	}
	// Without credentials both schemes are offered.
	resp, raw = s.Do(t, http.MethodGet, "/v1/auth/profile", nil, nil)
	decodeProblem(t, resp, raw, http.StatusUnauthorized)
	if ch := resp.Header.Values("WWW-Authenticate"); len(ch) != 2 || !strings.HasPrefix(ch[0], "Bearer") || !strings.HasPrefix(ch[1], "DPoP") {
		t.Fatalf("challenges = %q", ch)
	}
}

// Behind a proxy the proof names the public URL (CCB_PUBLIC_BASE_URL), not the backend's.
func TestDPoPPublicBaseURL(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.DPoP.PublicBaseURL = "https://api.example.com/prefix" }))
	key := testutil.NewDPoPKey(t, jwa.ES256)
	s.Register(t, "dpop-proxy@example.com")
	login := `{"email":"dpop-proxy@example.com","password":"` + dpopPassword + `"}`
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/login", login, map[string]string{"DPoP": key.Proof(t, http.MethodPost, s.URL+"/v1/auth/login", "")})
	wantDPoPError(t, resp, raw, "invalid_dpop_proof")
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/login", login, map[string]string{"DPoP": key.Proof(t, http.MethodPost, "https://API.example.com:443/prefix/v1/auth/login", "")})
	if tokens := decodeInto[api.AuthTokens](t, resp, raw, http.StatusOK); tokens.TokenType != api.AuthTokensTokenTypeDPoP {
		t.Fatalf("token_type = %s", tokens.TokenType)
	}
}
