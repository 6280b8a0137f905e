package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

const proofURL = "https://api.example.com/v1/auth/profile"

func TestParseDPoPProof(t *testing.T) {
	t.Parallel()
	now := time.Now()
	es, rs, ed := testutil.NewDPoPKey(t, jwa.ES256), testutil.NewDPoPKey(t, jwa.RS256), testutil.NewDPoPKey(t, jwa.EdDSA)
	other := testutil.NewDPoPKey(t, jwa.ES256)
	esPrivate, err := jwk.FromRaw(mustRaw(t, es))
	if err != nil {
		t.Fatal(err)
	}
	want := auth.DPoPRequest{Method: "GET", URL: proofURL, AccessToken: "the-token"}
	ok := func(k *testutil.DPoPKey) string { return k.Proof(t, "GET", proofURL, "the-token") }
	cases := []struct {
		name  string
		proof string
		want  auth.DPoPRequest
		jkt   string // "" : refused
	}{
		{"ES256", ok(es), want, es.JKT},
		{"RS256", ok(rs), want, rs.JKT},
		{"EdDSA", ok(ed), want, ed.JKT},
		{"htu normalised: case, default port, query", es.Proof(t, "GET", "HTTPS://API.Example.com:443/v1/auth/profile?x=1#f", "the-token"), want, es.JKT},
		{"no ath at a token endpoint", es.Proof(t, "GET", proofURL, ""), auth.DPoPRequest{Method: "GET", URL: proofURL}, es.JKT},
		{"iat just inside the window", es.ProofWith(t, testutil.DPoPClaims{HTM: "GET", HTU: proofURL, AccessToken: "the-token", IssuedAt: now.Add(-50 * time.Second)}), want, es.JKT},
		{"wrong htm", es.Proof(t, "POST", proofURL, "the-token"), want, ""},
		{"wrong htu path", es.Proof(t, "GET", "https://api.example.com/v1/auth/api-keys", "the-token"), want, ""},
		{"wrong htu host", es.Proof(t, "GET", "https://evil.example.com/v1/auth/profile", "the-token"), want, ""},
		{"wrong htu scheme", es.Proof(t, "GET", "http://api.example.com/v1/auth/profile", "the-token"), want, ""},
		{"relative htu", es.Proof(t, "GET", "/v1/auth/profile", "the-token"), want, ""},
		{"stale iat", es.ProofWith(t, testutil.DPoPClaims{HTM: "GET", HTU: proofURL, AccessToken: "the-token", IssuedAt: now.Add(-2 * time.Minute)}), want, ""},
		{"future iat", es.ProofWith(t, testutil.DPoPClaims{HTM: "GET", HTU: proofURL, AccessToken: "the-token", IssuedAt: now.Add(2 * time.Minute)}), want, ""},
		{"ath of another token", es.Proof(t, "GET", proofURL, "another-token"), want, ""},
		{"ath missing", es.Proof(t, "GET", proofURL, ""), want, ""},
		{"typ JWT", es.ProofWith(t, testutil.DPoPClaims{HTM: "GET", HTU: proofURL, AccessToken: "the-token", Type: "JWT"}), want, ""},
		{"private key in the header", es.ProofWith(t, testutil.DPoPClaims{HTM: "GET", HTU: proofURL, AccessToken: "the-token", HeaderKey: esPrivate}), want, ""},
		{"header key is not the signer", es.ProofWith(t, testutil.DPoPClaims{HTM: "GET", HTU: proofURL, AccessToken: "the-token", HeaderKey: other.Public}), want, ""},
		{"not a JWS", "not.a.jws", want, ""},
		{"JSON serialization", `{"payload":"e30","signatures":[]}`, want, ""},
		{"empty", "", want, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := auth.ParseDPoPProof(tc.proof, tc.want, now, 60*time.Second)
			if tc.jkt == "" {
				if ae, ok := apperr.As(err); !ok || ae.Code != "invalid_dpop_proof" || ae.Kind != apperr.Unauthenticated {
					t.Fatalf("err = %v, want invalid_dpop_proof", err)
				}
				return
			}
			if err != nil || p.JKT != tc.jkt || p.JTI == "" {
				t.Fatalf("proof = %+v, %v; want jkt %s", p, err, tc.jkt)
			}
		})
	}
}

func mustRaw(t *testing.T, k *testutil.DPoPKey) any {
	t.Helper()
	raw, err := k.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestNormalizeHTU(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://Example.COM":               "https://example.com/",
		"https://example.com:443/a/b?q#f":   "https://example.com/a/b",
		"http://example.com:80/x":           "http://example.com/x",
		"http://example.com:8080/x":         "http://example.com:8080/x",
		"https://[::1]/x":                   "https://[::1]/x",
		"https://[::1]:8443/x":              "https://[::1]:8443/x",
		"https://example.com/%7Euser/a%2Fb": "https://example.com/%7Euser/a%2Fb",
		"ftp://example.com/":                "",
		"mailto:a@example.com":              "",
		"/relative":                         "",
		"https://example.com/bad%zz":        "",
	} {
		got, err := auth.NormalizeHTU(in)
		if want == "" {
			if err == nil {
				t.Errorf("NormalizeHTU(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NormalizeHTU(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// A proof is accepted once; a second identical one is a replay, in Redis across instances.
func TestDPoPProofsRefuseReplay(t *testing.T) {
	t.Parallel()
	rdb := testutil.NewRedis(t)
	prefix := testutil.NewRedisPrefix(t)
	v := auth.NewDPoPProofs(rdb, prefix, 0, time.Now)
	k := testutil.NewDPoPKey(t, jwa.ES256)
	proof := k.Proof(t, "POST", "http://127.0.0.1/v1/auth/login", "")
	req := auth.DPoPRequest{Proofs: []string{proof}, Method: "POST", URL: "http://127.0.0.1/v1/auth/login"}
	if jkt, err := v.Verify(context.Background(), req); err != nil || jkt != k.JKT {
		t.Fatalf("first use = %q, %v", jkt, err)
	}
	twin := auth.NewDPoPProofs(rdb, prefix, time.Minute, time.Now) // a second instance
	if _, err := twin.Verify(context.Background(), req); apperr.KindOf(err) != apperr.Unauthenticated {
		t.Fatalf("replay = %v, want refused", err)
	}
	req.Proofs = []string{proof, k.Proof(t, "POST", "http://127.0.0.1/v1/auth/login", "")}
	if _, err := v.Verify(context.Background(), req); apperr.KindOf(err) != apperr.Unauthenticated {
		t.Fatalf("two proofs = %v, want refused", err)
	}
	req.Proofs = nil
	if _, err := v.Verify(context.Background(), req); apperr.KindOf(err) != apperr.Unauthenticated {
		t.Fatalf("no proof = %v, want refused", err)
	}
}

// Without Redis no proof is accepted unchecked: 503.
func TestDPoPProofsFailClosedWithoutRedis(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	v := auth.NewDPoPProofs(rdb, "x:", time.Minute, time.Now)
	k := testutil.NewDPoPKey(t, jwa.EdDSA)
	req := auth.DPoPRequest{Proofs: []string{k.Proof(t, "GET", proofURL, "")}, Method: "GET", URL: proofURL}
	_, err := v.Verify(context.Background(), req)
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.Unavailable || ae.RetryAfter == 0 {
		t.Fatalf("err = %v, want 503 with Retry-After", err)
	}
}

func TestDPoPThumbprintContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if auth.DPoPThumbprintFrom(ctx) != "" {
		t.Fatal("empty context carries a thumbprint")
	}
	ctx = auth.WithDPoPThumbprint(ctx, "jkt")
	if auth.DPoPThumbprintFrom(ctx) != "jkt" || auth.DPoPThumbprintFrom(auth.WithDPoPThumbprint(ctx, "")) != "" {
		t.Fatal("thumbprint not carried or not cleared")
	}
}
