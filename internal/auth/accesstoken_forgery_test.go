package auth_test

// Attacks on Verify: every token here is built by hand, not with jwx, so they do not depend on the
// library under test.

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/auth"
)

// jwtForge builds a compact JWS by hand (not with jwx) so the attacks do not depend on the library
// under test; sign nil leaves the signature empty.
func jwtForge(hdr, claims map[string]any, sign func(input []byte) []byte) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(hdr) + "." + enc(claims)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func jwtRS256(key *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
		return sig
	}
}

func jwtHS256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func TestAccessTokenRejectsForgeries(t *testing.T) {
	f := newJWTFixture(t)
	kid, trusted := auth.KeyRingSigner(f.ring)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkix, _ := x509.MarshalPKIXPublicKey(&trusted.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	attackerJWK := map[string]any{"kty": "RSA", "kid": kid, "n": b64(attacker.N.Bytes()), "e": b64(big.NewInt(int64(attacker.E)).Bytes())}
	signWith := func(h crypto.Hash, pss bool) func([]byte) []byte {
		return func(in []byte) []byte {
			d := h.New()
			d.Write(in)
			if pss {
				sig, _ := rsa.SignPSS(rand.Reader, trusted, h, d.Sum(nil), nil)
				return sig
			}
			sig, _ := rsa.SignPKCS1v15(rand.Reader, trusted, h, d.Sum(nil))
			return sig
		}
	}
	now := f.clock.Now()
	valid := func() (map[string]any, map[string]any) {
		return map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": kid}, map[string]any{
			"iss": auth.AccessTokenIssuer, "aud": []string{auth.AudienceIOS}, "sub": uuid.NewString(),
			"jti": uuid.NewString(), "sid": uuid.NewString(), "roles": []string{"user"},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
	}
	// Control: the hand-made token is accepted, so each rejection below is due to its one change.
	h, c := valid()
	jwtMustAccept(t, f.tokens, jwtForge(h, c, jwtRS256(trusted)))

	// edit sets (or, for nil, deletes) one header field or claim.
	edit := func(inHeader bool, k string, v any) func(h, c map[string]any) {
		return func(h, c map[string]any) {
			target := c
			if inHeader {
				target = h
			}
			if v == nil {
				delete(target, k)
			} else {
				target[k] = v
			}
		}
	}
	hdr := func(k string, v any) func(h, c map[string]any) { return edit(true, k, v) }
	claim := func(k string, v any) func(h, c map[string]any) { return edit(false, k, v) }
	tests := []struct {
		name string
		edit func(h, c map[string]any)
		sign func([]byte) []byte
	}{
		{"wrong iss", claim("iss", "evil-backend"), nil},
		{"no iss", claim("iss", nil), nil},
		{"wrong aud", claim("aud", []string{"claude-code-desktop"}), nil},
		{"aud as another string", claim("aud", "someone"), nil},
		{"two audiences", claim("aud", []string{auth.AudienceIOS, auth.AudienceWeb}), nil},
		{"no aud", claim("aud", nil), nil},
		{"typ JWT", hdr("typ", "JWT"), nil},
		{"no typ", hdr("typ", nil), nil},
		{"no kid", hdr("kid", nil), nil},
		{"unknown kid", hdr("kid", "no-such-key"), nil},
		{"expired beyond skew", claim("exp", now.Add(-61*time.Second).Unix()), nil},
		{"no exp", claim("exp", nil), nil},
		{"not yet valid", claim("nbf", now.Add(2*time.Minute).Unix()), nil},
		{"issued in the future", claim("iat", now.Add(2*time.Minute).Unix()), nil},
		{"sub not a uuid", claim("sub", "admin"), nil},
		{"no sid", claim("sid", nil), nil},
		{"no jti", claim("jti", nil), nil},
		{"roles not a list", claim("roles", "admin"), nil},
		{"roles with a number", claim("roles", []any{"user", 1}), nil},
		{"no roles", claim("roles", nil), nil},
		{"alg none, no signature", hdr("alg", "none"), func([]byte) []byte { return nil }},
		{"alg None, no signature", hdr("alg", "None"), func([]byte) []byte { return nil }},
		{"HS256 keyed with the PEM public key", hdr("alg", "HS256"), jwtHS256(pubPEM)},
		{"HS256 keyed with the DER public key", hdr("alg", "HS256"), jwtHS256(pkix)},
		{"HS256 keyed with the modulus", hdr("alg", "HS256"), jwtHS256(trusted.N.Bytes())},
		{"RS512 with the trusted key", hdr("alg", "RS512"), signWith(crypto.SHA512, false)},
		{"PS256 with the trusted key", hdr("alg", "PS256"), signWith(crypto.SHA256, true)},
		{"attacker key under our kid", nil, jwtRS256(attacker)},
		{"attacker key in a jwk header", hdr("jwk", attackerJWK), jwtRS256(attacker)},
		{"attacker key in a jwk header, no kid", func(h, c map[string]any) { h["jwk"] = attackerJWK; delete(h, "kid") }, jwtRS256(attacker)},
		{"attacker jku", hdr("jku", "https://attacker.example/jwks.json"), jwtRS256(attacker)},
		{"attacker x5u", hdr("x5u", "https://attacker.example/cert.pem"), jwtRS256(attacker)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, c := valid()
			if tc.edit != nil {
				tc.edit(h, c)
			}
			sign := tc.sign
			if sign == nil {
				sign = jwtRS256(trusted)
			}
			jwtMustReject(t, f.tokens, jwtForge(h, c, sign))
		})
	}

	// Tampering with a genuine token, and other shapes of input.
	raw, _ := jwtIssue(t, f.tokens)
	parts := strings.Split(raw, ".")
	_, c = valid()
	c["roles"] = []string{"admin"}
	payload, _ := json.Marshal(c)
	jsonForm, _ := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	for name, bad := range map[string]string{
		"payload swapped":     parts[0] + "." + b64(payload) + "." + parts[2],
		"signature truncated": raw[:len(raw)-4],
		"JSON serialization":  string(jsonForm),
		"empty":               "",
		"garbage":             "a.b.c",
		"huge":                raw + strings.Repeat("A", 10000),
	} {
		t.Run(name, func(t *testing.T) { jwtMustReject(t, f.tokens, bad) })
	}
}
