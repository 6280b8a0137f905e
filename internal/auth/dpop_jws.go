package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// A DPoP proof is a compact JWS with a fixed shape, so it is verified here with the standard
// library alone: a general JOSE library spends a third of a proof's cost on header and key
// machinery a proof never uses (JSON serialization, unprotected headers, key sets, x5c), and
// every feature it accepts is one more way in. What is refused, and why:
//   - anything but exactly three base64url parts, padding, the standard alphabet, line breaks:
//     one proof has one spelling;
//   - a header member named twice, or a name in another case (`Typ`): JSON parsers disagree on
//     which copy wins, so a header that means different things to different readers is refused;
//   - `crit` and `b64`: extensions this server does not implement must not be ignored;
//   - typ other than exactly dpop+jwt, alg other than ES256, RS256, EdDSA (no none, no HMAC);
//   - a jwk with private members, a key type that does not match alg, a point off the curve, an
//     RSA modulus under 2048 bits.

// dpopKeyTypes ties each accepted alg to the one key type (and curve) it may be used with.
var dpopKeyTypes = map[string]string{"ES256": "EC", "RS256": "RSA", "EdDSA": "OKP"}

// dpopB64 decodes a proof's parts; dpopDecode first refuses bytes outside the alphabet, because
// the decoder itself skips CR and LF even when strict.
var dpopB64 = base64.RawURLEncoding.Strict()

// dpopJWS is a proof whose shape and header passed the rules above. Its signature is checked
// apart (verifySignature), so that the caller can run the one costly step of a proof beside the
// request's Redis round trip; nothing may act on a dpopJWS whose signature was not verified.
type dpopJWS struct {
	payload []byte
	jkt     string // thumbprint of the header's key

	alg   string
	key   *dpopKey
	jwk   json.RawMessage // the header's jwk member, the key cache's index
	input string          // the signing input: header.payload
	sig   []byte
}

// parseDPoPJWS checks everything of raw but its signature.
func parseDPoPJWS(raw string, keys *dpopKeyCache) (dpopJWS, error) {
	if len(raw) > dpopMaxLen {
		return dpopJWS{}, refuse(reasonMalformed, "", errors.New("proof too long"))
	}
	h64, rest, ok1 := strings.Cut(raw, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return dpopJWS{}, refuse(reasonMalformed, "", errors.New("not a compact JWS of three parts"))
	}
	hdrJSON, err := dpopDecode(h64)
	if err != nil {
		return dpopJWS{}, refuse(reasonMalformed, "", fmt.Errorf("header: %w", err))
	}
	hdr, err := jsonObject(hdrJSON)
	if err != nil {
		return dpopJWS{}, refuse(reasonMalformed, "", fmt.Errorf("header: %w", err))
	}
	alg, err := dpopHeaderAlg(hdr)
	if err != nil {
		return dpopJWS{}, err
	}
	key, err := keys.parse(hdr["jwk"])
	if err != nil {
		return dpopJWS{}, refuse(reasonKey, "", err)
	}
	if err := key.usableWith(alg); err != nil {
		return dpopJWS{}, refuse(reasonKey, key.jkt, err)
	}
	sig, err := dpopDecode(s64)
	if err != nil {
		return dpopJWS{}, refuse(reasonMalformed, key.jkt, fmt.Errorf("signature: %w", err))
	}
	payload, err := dpopDecode(p64)
	if err != nil {
		return dpopJWS{}, refuse(reasonMalformed, key.jkt, fmt.Errorf("payload: %w", err))
	}
	return dpopJWS{payload: payload, jkt: key.jkt, alg: alg, key: key, jwk: hdr["jwk"],
		input: raw[:len(h64)+1+len(p64)], sig: sig}, nil
}

// verifySignature checks j's signature by its header key, and then lets keys remember that key.
func (j dpopJWS) verifySignature(keys *dpopKeyCache) error {
	if err := verifyDPoPSignature(j.alg, j.key.pub, j.input, j.sig); err != nil {
		return refuse(reasonSignature, j.jkt, err)
	}
	keys.remember(j.jwk, j.key) // only keys that signed something are worth keeping
	return nil
}

// dpopHeaderAlg applies the header rules and returns the algorithm.
func dpopHeaderAlg(hdr map[string]json.RawMessage) (string, error) {
	for _, name := range []string{"crit", "b64"} {
		if _, ok := hdr[name]; ok {
			return "", refuse(reasonHeader, "", fmt.Errorf("header member %q is not supported", name))
		}
	}
	if typ, _ := jsonString(hdr["typ"]); typ != DPoPProofType {
		return "", refuse(reasonHeader, "", fmt.Errorf("typ %q is not %s", typ, DPoPProofType))
	}
	alg, _ := jsonString(hdr["alg"])
	if dpopKeyTypes[alg] == "" {
		return "", refuse(reasonAlgorithm, "", fmt.Errorf("alg %q is not accepted", alg))
	}
	return alg, nil
}

// verifyDPoPSignature checks sig over input with pub for alg; pub's type matches alg already.
func verifyDPoPSignature(alg string, pub crypto.PublicKey, input string, sig []byte) error {
	switch alg {
	case "ES256":
		// JWS carries r||s, each the curve's size (RFC 7518 §3.4), not ASN.1.
		if len(sig) != 64 {
			return errors.New("ES256 signature is not 64 bytes")
		}
		h := sha256.Sum256([]byte(input))
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub.(*ecdsa.PublicKey), h[:], r, s) {
			return errors.New("ES256 signature does not verify")
		}
	case "RS256":
		h := sha256.Sum256([]byte(input))
		if err := rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
			return fmt.Errorf("RS256 signature: %w", err)
		}
	case "EdDSA":
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub.(ed25519.PublicKey), []byte(input), sig) {
			return errors.New("EdDSA signature does not verify")
		}
	default:
		return fmt.Errorf("alg %q is not accepted", alg)
	}
	return nil
}

// dpopDecode decodes one part: unpadded base64url, canonical (no stray bits), nothing else.
func dpopDecode(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("byte %q is not base64url", c)
		}
	}
	return dpopB64.DecodeString(s)
}

// jsonObject decodes one JSON object into its members, refusing a member named twice (which
// encoding/json would silently let the last copy win) and anything after the object.
func jsonObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := make(map[string]json.RawMessage, 8)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string) // inside an object the decoder yields only string names here
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("member %q appears twice", name)
		}
		members[name] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}

// jsonString reads a member that must be a JSON string; false when absent or of another type.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
