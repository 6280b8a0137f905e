package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ccbackend/ccbackend/internal/auth"
)

// DPoPKey is a client's DPoP key pair (the iOS app's Secure Enclave key, in tests a software one).
type DPoPKey struct {
	Alg     jwa.SignatureAlgorithm
	private any
	Public  jwk.Key
	JKT     string // RFC 7638 thumbprint, as cnf.jkt names it
}

// NewDPoPKey generates a key for alg (ES256, RS256 or EdDSA).
func NewDPoPKey(t testing.TB, alg jwa.SignatureAlgorithm) *DPoPKey {
	t.Helper()
	var (
		priv any
		err  error
	)
	switch alg {
	case jwa.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jwa.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("testutil: no DPoP key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	tp, err := pub.Thumbprint(cryptoSHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &DPoPKey{Alg: alg, private: priv, Public: pub, JKT: b64(tp)}
}

// DPoPClaims are the members of a proof; zero fields get sensible values from Proof.
type DPoPClaims struct {
	JTI         string
	HTM, HTU    string
	IssuedAt    time.Time
	AccessToken string // hashed into ath when set
	Type        string // header typ; default dpop+jwt
	HeaderKey   jwk.Key
}

// Proof signs a DPoP proof for method and url (and accessToken's ath when not "").
func (k *DPoPKey) Proof(t testing.TB, method, url, accessToken string) string {
	t.Helper()
	return k.ProofWith(t, DPoPClaims{HTM: method, HTU: url, AccessToken: accessToken})
}

// ProofWith signs a proof with exactly c (defaults: random jti, now, typ dpop+jwt, own public key).
func (k *DPoPKey) ProofWith(t testing.TB, c DPoPClaims) string {
	t.Helper()
	if c.JTI == "" {
		c.JTI = uuid.NewString()
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.Type == "" {
		c.Type = auth.DPoPProofType
	}
	if c.HeaderKey == nil {
		c.HeaderKey = k.Public
	}
	b := jwt.NewBuilder().JwtID(c.JTI).IssuedAt(c.IssuedAt).Claim("htm", c.HTM).Claim("htu", c.HTU)
	if c.AccessToken != "" {
		b = b.Claim("ath", auth.AccessTokenHash(c.AccessToken))
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, c.Type); err != nil {
		t.Fatal(err)
	}
	if err := hdr.Set(jws.JWKKey, c.HeaderKey); err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(k.Alg, k.private, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

const cryptoSHA256 = crypto.SHA256

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// PrivateKey returns the raw private key (for tests that put it where it does not belong).
func (k *DPoPKey) PrivateKey() (any, error) { return k.private, nil }
