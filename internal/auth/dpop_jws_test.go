package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// The thumbprint of the lean parser is jwx's for many random keys of each type, including EC
// keys whose coordinates start with a zero byte (where a naive big.Int encoding would differ).
func TestDPoPThumbprintMatchesJWX(t *testing.T) {
	t.Parallel()
	var raws []any
	for i := 0; i < 300; i++ {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		raws = append(raws, &k.PublicKey)
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		raws = append(raws, ed.Public())
	}
	for zeros := 0; zeros < 3; { // EC keys with a leading zero byte in x or y
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if len(k.X.Bytes()) < 32 || len(k.Y.Bytes()) < 32 {
			raws = append(raws, &k.PublicKey)
			zeros++
		}
	}
	for i := 0; i < 4; i++ {
		k, _ := rsa.GenerateKey(rand.Reader, 2048+i*512)
		raws = append(raws, &k.PublicKey)
	}
	for _, raw := range raws {
		k, err := jwk.FromRaw(raw)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(k)
		want, _ := k.Thumbprint(crypto.SHA256)
		got, err := parseDPoPJWK(js)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if got.jkt != base64.RawURLEncoding.EncodeToString(want) {
			t.Fatalf("%s: jkt %s, jwx %s", js, got.jkt, base64.RawURLEncoding.EncodeToString(want))
		}
	}
}

// RSA n and e with leading zero bytes are one key: the thumbprint is jwx's minimal form.
func TestDPoPThumbprintRSANonMinimal(t *testing.T) {
	t.Parallel()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	j, _ := jwk.FromRaw(&k.PublicKey)
	want, _ := j.Thumbprint(crypto.SHA256)
	n := append([]byte{0}, k.N.Bytes()...)
	js := `{"kty":"RSA","n":"` + b64u(n) + `","e":"` + b64u([]byte{0, 1, 0, 1}) + `"}`
	got, err := parseDPoPJWK(json.RawMessage(js))
	if err != nil || got.jkt != b64u(want) {
		t.Fatalf("jkt = %v, %v; want %s", got, err, b64u(want))
	}
}

// Each rule of the lean parser refuses with its reason.
func TestVerifyDPoPJWSRefusals(t *testing.T) {
	t.Parallel()
	es, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	esJWK := jwkJSON(t, &es.PublicKey)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	x, y := es.X.FillBytes(make([]byte, 32)), es.Y.FillBytes(make([]byte, 32))
	offY := new(big.Int).Add(es.Y, big.NewInt(1)).FillBytes(make([]byte, 32))
	signES := func(hdr string) string { return signedES256(t, es, hdr) }
	valid := signES(`{"alg":"ES256","typ":"dpop+jwt","jwk":` + esJWK + `}`)
	cases := []struct{ name, proof, reason string }{
		{"two parts", valid[:lastDot(valid)], reasonMalformed},
		{"four parts", valid + ".x", reasonMalformed},
		{"padding", padded(valid), reasonMalformed},
		{"std alphabet", stdAlphabet(valid), reasonMalformed},
		{"line break", valid[:10] + "\n" + valid[10:], reasonMalformed},
		{"duplicate typ", signES(`{"alg":"ES256","typ":"dpop+jwt","typ":"JWT","jwk":` + esJWK + `}`), reasonMalformed},
		{"Typ instead of typ", signES(`{"alg":"ES256","Typ":"dpop+jwt","jwk":` + esJWK + `}`), reasonHeader},
		{"typ in capitals", signES(`{"alg":"ES256","typ":"DPOP+JWT","jwk":` + esJWK + `}`), reasonHeader},
		{"crit", signES(`{"alg":"ES256","typ":"dpop+jwt","crit":["exp"],"jwk":` + esJWK + `}`), reasonHeader},
		{"b64", signES(`{"alg":"ES256","typ":"dpop+jwt","b64":false,"jwk":` + esJWK + `}`), reasonHeader},
		{"alg none", signES(`{"alg":"none","typ":"dpop+jwt","jwk":` + esJWK + `}`), reasonAlgorithm},
		{"alg HS256", signES(`{"alg":"HS256","typ":"dpop+jwt","jwk":` + esJWK + `}`), reasonAlgorithm},
		{"no jwk", signES(`{"alg":"ES256","typ":"dpop+jwt"}`), reasonKey},
		{"private jwk", signES(`{"alg":"ES256","typ":"dpop+jwt","jwk":` + jwkJSON(t, es) + `}`), reasonKey},
		{"symmetric jwk", signES(`{"alg":"ES256","typ":"dpop+jwt","jwk":{"kty":"oct","k":"c2VjcmV0"}}`), reasonKey},
		{"duplicate jwk member", signES(`{"alg":"ES256","typ":"dpop+jwt","jwk":{"kty":"EC","crv":"P-256","x":"` + b64u(x) + `","x":"` + b64u(x) + `","y":"` + b64u(y) + `"}}`), reasonKey},
		{"alg/kty mismatch", signES(`{"alg":"RS256","typ":"dpop+jwt","jwk":` + esJWK + `}`), reasonKey},
		{"RSA key for ES256", signES(`{"alg":"ES256","typ":"dpop+jwt","jwk":` + jwkJSON(t, &rs.PublicKey) + `}`), reasonKey},
		{"off-curve point", signES(`{"alg":"ES256","typ":"dpop+jwt","jwk":{"kty":"EC","crv":"P-256","x":"` + b64u(x) + `","y":"` + b64u(offY) + `"}}`), reasonKey},
		{"short EC coordinate", signES(`{"alg":"ES256","typ":"dpop+jwt","jwk":{"kty":"EC","crv":"P-256","x":"` + b64u(x[1:]) + `","y":"` + b64u(y) + `"}}`), reasonKey},
		{"P-384", signES(`{"alg":"ES256","typ":"dpop+jwt","jwk":{"kty":"EC","crv":"P-384","x":"` + b64u(x) + `","y":"` + b64u(y) + `"}}`), reasonKey},
		{"short RSA", signES(`{"alg":"RS256","typ":"dpop+jwt","jwk":` + jwkJSON(t, &small.PublicKey) + `}`), reasonKey},
		{"X25519", signES(`{"alg":"EdDSA","typ":"dpop+jwt","jwk":{"kty":"OKP","crv":"X25519","x":"` + b64u(x) + `"}}`), reasonKey},
		{"bad signature", valid[:lastDot(valid)+1] + b64u(make([]byte, 64)), reasonSignature},
		{"ASN.1 signature", valid[:lastDot(valid)+1] + b64u(make([]byte, 70)), reasonSignature},
	}
	if _, err := verifyDPoPJWS(valid, nil); err != nil {
		t.Fatalf("valid proof refused: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := verifyDPoPJWS(tc.proof, newDPoPKeyCache())
			if reason, _ := dpopReasonOf(err); reason != tc.reason {
				t.Fatalf("err = %v, want reason %s", err, tc.reason)
			}
		})
	}
}

// A cached key is used only after the same checks: a hit for another alg is still refused.
func TestDPoPKeyCacheKeepsAlgTie(t *testing.T) {
	t.Parallel()
	es, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := newDPoPKeyCache()
	esJWK := jwkJSON(t, &es.PublicKey)
	if _, err := verifyDPoPJWS(signedES256(t, es, `{"alg":"ES256","typ":"dpop+jwt","jwk":`+esJWK+`}`), c); err != nil {
		t.Fatal(err)
	}
	if len(c.keys) != 1 {
		t.Fatalf("cache holds %d keys, want 1", len(c.keys))
	}
	_, err := verifyDPoPJWS(signedES256(t, es, `{"alg":"EdDSA","typ":"dpop+jwt","jwk":`+esJWK+`}`), c)
	if reason, _ := dpopReasonOf(err); reason != reasonKey {
		t.Fatalf("err = %v, want reason key", err)
	}
}

func jwkJSON(t *testing.T, raw any) string {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(k)
	return string(b)
}

// signedES256 signs hdr and a fixed payload with k, exactly as written (no re-encoding).
func signedES256(t *testing.T, k *ecdsa.PrivateKey, hdr string) string {
	t.Helper()
	input := b64u([]byte(hdr)) + "." + b64u([]byte(`{"jti":"j","htm":"GET","htu":"https://a.example/","iat":1}`))
	h := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64u(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// padded re-encodes the header part with '=' padding (adding a byte so padding is needed).
func padded(proof string) string {
	hdr, _, _ := cutDot(proof)
	raw, _ := base64.RawURLEncoding.DecodeString(hdr)
	for len(raw)%3 == 0 {
		raw = append(raw, ' ')
	}
	return base64.URLEncoding.EncodeToString(raw) + proof[len(hdr):]
}

// stdAlphabet swaps the signature's URL alphabet for the standard one (it has '-' or '_' almost
// always; a zero signature part is forced otherwise).
func stdAlphabet(proof string) string {
	i := lastDot(proof)
	sig, _ := base64.RawURLEncoding.DecodeString(proof[i+1:])
	std := base64.RawStdEncoding.EncodeToString(sig)
	if std == proof[i+1:] {
		std = "+" + std[1:]
	}
	return proof[:i+1] + std
}

func cutDot(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// verifyDPoPJWS checks raw's shape, header and signature, the two steps a proof's parse takes
// (parseDPoPJWS, then verifySignature); keys (may be nil) remembers parsed header keys.
func verifyDPoPJWS(raw string, keys *dpopKeyCache) (dpopJWS, error) {
	jws, err := parseDPoPJWS(raw, keys)
	if err != nil {
		return dpopJWS{}, err
	}
	if err := jws.verifySignature(keys); err != nil {
		return dpopJWS{}, err
	}
	return jws, nil
}
