package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
)

const (
	dpopMaxRSA      = 8192 // bits; a larger modulus only makes each verification dearer
	dpopKeyCacheMax = 1024 // parsed header keys kept per process: a client signs every proof with one key
)

// dpopPrivateMembers are the JWK members (RFC 7518 §6) that only a private or symmetric key has.
var dpopPrivateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// dpopKey is a proof header's public key, checked, with its RFC 7638 thumbprint.
type dpopKey struct {
	kty string // EC (P-256), RSA or OKP (Ed25519)
	pub crypto.PublicKey
	jkt string
}

// usableWith refuses alg for a key of another type (an RSA key cannot make an ES256 proof).
func (k *dpopKey) usableWith(alg string) error {
	if dpopKeyTypes[alg] != k.kty {
		return fmt.Errorf("alg %s cannot be used with a %s key", alg, k.kty)
	}
	return nil
}

// parseDPoPJWK reads the header's jwk member.
func parseDPoPJWK(raw json.RawMessage) (*dpopKey, error) {
	if len(raw) == 0 {
		return nil, errors.New("no jwk in the header")
	}
	m, err := jsonObject(raw)
	if err != nil {
		return nil, fmt.Errorf("jwk: %w", err)
	}
	for _, name := range dpopPrivateMembers {
		if _, ok := m[name]; ok {
			return nil, errors.New("the header jwk is not a public key")
		}
	}
	kty, _ := jsonString(m["kty"])
	var k *dpopKey
	switch kty {
	case "EC":
		k, err = ecKey(m)
	case "RSA":
		k, err = rsaKey(m)
	case "OKP":
		k, err = okpKey(m)
	default:
		err = fmt.Errorf("jwk kty %q is not accepted", kty)
	}
	return k, err
}

// ecKey reads a P-256 key; its coordinates must be exactly 32 bytes (RFC 7518 §6.2.1.2) and the
// point on the curve.
func ecKey(m map[string]json.RawMessage) (*dpopKey, error) {
	if crv, _ := jsonString(m["crv"]); crv != "P-256" {
		return nil, fmt.Errorf("EC curve %q is not P-256", crv)
	}
	x, errX := jwkBytes(m, "x")
	y, errY := jwkBytes(m, "y")
	if err := errors.Join(errX, errY); err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, errors.New("EC coordinates are not 32 bytes")
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("EC point: %w", err)
	}
	jkt := `{"crv":"P-256","kty":"EC","x":"` + b64u(x) + `","y":"` + b64u(y) + `"}`
	return &dpopKey{kty: "EC", pub: pub, jkt: thumbprint(jkt)}, nil
}

// rsaKey reads an RSA key of 2048 to 8192 bits. Leading zero bytes of n and e are tolerated and
// dropped in the thumbprint, which uses the minimal big-endian form as jwx does.
func rsaKey(m map[string]json.RawMessage) (*dpopKey, error) {
	nb, errN := jwkBytes(m, "n")
	eb, errE := jwkBytes(m, "e")
	if err := errors.Join(errN, errE); err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(nb)
	if bits := n.BitLen(); bits < dpopMinRSA || bits > dpopMaxRSA {
		return nil, fmt.Errorf("RSA modulus of %d bits is not within %d to %d", bits, dpopMinRSA, dpopMaxRSA)
	}
	e := new(big.Int).SetBytes(eb)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New("RSA exponent is not an odd number from 3 to 2^31-1")
	}
	var eBuf [8]byte
	binary.BigEndian.PutUint64(eBuf[:], e.Uint64())
	eMin := eBuf[8-(e.BitLen()+7)/8:]
	jkt := `{"e":"` + b64u(eMin) + `","kty":"RSA","n":"` + b64u(n.Bytes()) + `"}`
	return &dpopKey{kty: "RSA", pub: &rsa.PublicKey{N: n, E: int(e.Int64())}, jkt: thumbprint(jkt)}, nil
}

// okpKey reads an Ed25519 key (the only OKP curve accepted).
func okpKey(m map[string]json.RawMessage) (*dpopKey, error) {
	if crv, _ := jsonString(m["crv"]); crv != "Ed25519" {
		return nil, fmt.Errorf("OKP curve %q is not Ed25519", crv)
	}
	x, err := jwkBytes(m, "x")
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, errors.New("Ed25519 key is not 32 bytes")
	}
	jkt := `{"crv":"Ed25519","kty":"OKP","x":"` + b64u(x) + `"}`
	return &dpopKey{kty: "OKP", pub: ed25519.PublicKey(x), jkt: thumbprint(jkt)}, nil
}

// jwkBytes decodes the base64url member name of a jwk.
func jwkBytes(m map[string]json.RawMessage, name string) ([]byte, error) {
	s, ok := jsonString(m[name])
	if !ok || s == "" {
		return nil, fmt.Errorf("jwk %s missing", name)
	}
	b, err := dpopDecode(s)
	if err != nil {
		return nil, fmt.Errorf("jwk %s: %w", name, err)
	}
	return b, nil
}

// thumbprint is RFC 7638's: SHA-256 of the required members, sorted, without whitespace (the
// caller builds that JSON; base64url never needs escaping), base64url-encoded.
func thumbprint(canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	return b64u(h[:])
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// dpopKeyCache keeps header keys that verified a proof, by the jwk's exact bytes, so that a
// client's next proof skips parsing, the curve check and the thumbprint. An entry is the result
// of the same checks a miss runs, so a hit accepts nothing a miss would refuse; bounded, it
// drops an arbitrary entry when full. A nil cache parses every time.
type dpopKeyCache struct {
	mu   sync.Mutex
	keys map[string]*dpopKey
}

func newDPoPKeyCache() *dpopKeyCache { return &dpopKeyCache{keys: make(map[string]*dpopKey)} }

// parse returns the key raw names, from the cache when it has it.
func (c *dpopKeyCache) parse(raw json.RawMessage) (*dpopKey, error) {
	if c != nil {
		c.mu.Lock()
		k := c.keys[string(raw)]
		c.mu.Unlock()
		if k != nil {
			return k, nil
		}
	}
	return parseDPoPJWK(raw)
}

// remember keeps k as the key raw names.
func (c *dpopKeyCache) remember(raw json.RawMessage, k *dpopKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[string(raw)]; ok {
		return
	}
	if len(c.keys) >= dpopKeyCacheMax {
		for old := range c.keys { // map order is unspecified: an arbitrary victim
			delete(c.keys, old)
			break
		}
	}
	c.keys[string(raw)] = k
}
