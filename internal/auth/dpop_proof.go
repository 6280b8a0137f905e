package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// DPoP proof constants (RFC 9449 §4.2).
const (
	// DPoPProofType is the JOSE typ every proof carries, so no other JWT passes as one.
	DPoPProofType = "dpop+jwt"
	// DPoPAlgorithms are the signature algorithms accepted, as the DPoP challenge lists them.
	DPoPAlgorithms = "ES256 RS256 EdDSA"

	dpopMaxLen    = 8 << 10 // a proof with an RSA-4096 JWK is ~1.5 KiB
	dpopMaxJTILen = 256
	dpopMinRSA    = 2048
)

var errBadDPoPProof = apperr.New(apperr.Unauthenticated, "invalid_dpop_proof", "the DPoP proof is invalid")

// DPoPRequest is what a request presents for DPoP: its proof header values and what a proof
// must match.
type DPoPRequest struct {
	Proofs []string // the DPoP header values; exactly one is valid
	Method string   // the request method (htm)
	URL    string   // the externally visible request URL without query (htu), as the HTTP layer resolved it
	// AccessToken, on a request to a protected resource, is the token the proof must hash (ath);
	// "" at the token-issuing operations, where no token exists yet.
	AccessToken string
}

// DPoPProof is a verified proof.
type DPoPProof struct {
	JKT      string // RFC 7638 SHA-256 thumbprint of the proof's public key, base64url
	JTI      string
	IssuedAt time.Time
}

// dpopClaims are the proof's payload members this server reads.
type dpopClaims struct {
	JTI string   `json:"jti"`
	HTM string   `json:"htm"`
	HTU string   `json:"htu"`
	IAT *float64 `json:"iat"`
	ATH *string  `json:"ath"`
}

// ParseDPoPProof verifies raw against want: signature by the public JWK of its own header, typ,
// algorithm, htm, htu, iat within window of now either way, and ath when want names a token.
// It does not spend the jti (see DPoPProofs). Every failure is errBadDPoPProof, the cause
// wrapped for the logs only.
func ParseDPoPProof(raw string, want DPoPRequest, now time.Time, window time.Duration) (DPoPProof, error) {
	return parseDPoPProof(raw, want, now, window, nil)
}

// parseDPoPProof is ParseDPoPProof with a cache of header keys (nil: none).
func parseDPoPProof(raw string, want DPoPRequest, now time.Time, window time.Duration, keys *dpopKeyCache) (DPoPProof, error) {
	p, err := parseDPoPProofUnsigned(raw, want, now, window, keys)
	if err == nil {
		err = p.signed()
	}
	if err != nil {
		return DPoPProof{}, err
	}
	return p.DPoPProof, nil
}

// unsignedDPoPProof is a proof whose every check passed but the signature's, which signed runs.
// It is split off because the signature is most of a proof's cost: a resource request checks it
// while its Redis round trip is in flight, and acts on the proof only once signed said yes.
type unsignedDPoPProof struct {
	DPoPProof
	signed func() error
}

// parseDPoPProofUnsigned is parseDPoPProof without the signature check, which it returns.
func parseDPoPProofUnsigned(raw string, want DPoPRequest, now time.Time, window time.Duration, keys *dpopKeyCache) (unsignedDPoPProof, error) {
	jws, p, err := checkDPoPProof(raw, want, now, window, keys)
	if err != nil {
		return unsignedDPoPProof{}, badDPoPProof(err)
	}
	return unsignedDPoPProof{DPoPProof: p, signed: func() error {
		if err := jws.verifySignature(keys); err != nil {
			return badDPoPProof(err)
		}
		return nil
	}}, nil
}

// badDPoPProof is errBadDPoPProof with its cause wrapped for the logs only.
func badDPoPProof(cause error) error {
	return apperr.Wrap(cause, errBadDPoPProof.Kind, errBadDPoPProof.Code, errBadDPoPProof.Detail)
}

// checkDPoPProof parses raw and checks its claims against want; the signature is left to the caller.
func checkDPoPProof(raw string, want DPoPRequest, now time.Time, window time.Duration, keys *dpopKeyCache) (dpopJWS, DPoPProof, error) {
	jws, err := parseDPoPJWS(raw, keys)
	if err != nil {
		return dpopJWS{}, DPoPProof{}, err
	}
	var c dpopClaims
	if err := json.Unmarshal(jws.payload, &c); err != nil {
		return dpopJWS{}, DPoPProof{}, refuse(reasonMalformed, jws.jkt, fmt.Errorf("payload: %w", err))
	}
	iat, err := c.check(want, now, window)
	if err != nil {
		var r *dpopRefusal
		if errors.As(err, &r) {
			r.jkt = jws.jkt
		}
		return dpopJWS{}, DPoPProof{}, err
	}
	return jws, DPoPProof{JKT: jws.jkt, JTI: c.JTI, IssuedAt: iat}, nil
}

// check compares the claims with the request and returns the issue time.
func (c dpopClaims) check(want DPoPRequest, now time.Time, window time.Duration) (time.Time, error) {
	if c.JTI == "" || len(c.JTI) > dpopMaxJTILen {
		return time.Time{}, refuse(reasonJTI, "", errors.New("jti missing or too long"))
	}
	if c.HTM != want.Method {
		return time.Time{}, refuse(reasonHTM, "", fmt.Errorf("htm %q is not %s", c.HTM, want.Method))
	}
	got, err := NormalizeHTU(c.HTU)
	if err != nil {
		return time.Time{}, refuse(reasonHTU, "", fmt.Errorf("htu: %w", err))
	}
	wantURL, err := NormalizeHTU(want.URL)
	if err != nil || got != wantURL {
		return time.Time{}, refuse(reasonHTU, "", fmt.Errorf("htu %q is not %q", got, wantURL))
	}
	if c.IAT == nil || math.IsNaN(*c.IAT) || math.Abs(*c.IAT) > 1e11 {
		return time.Time{}, refuse(reasonIAT, "", errors.New("iat missing or out of range"))
	}
	sec, frac := math.Modf(*c.IAT)
	iat := time.Unix(int64(sec), int64(frac*1e9))
	if d := now.Sub(iat); d > window || d < -window {
		return time.Time{}, refuse(reasonIAT, "", fmt.Errorf("iat %s is not within %s of now", iat.UTC().Format(time.RFC3339), window))
	}
	if want.AccessToken != "" {
		if c.ATH == nil || subtle.ConstantTimeCompare([]byte(*c.ATH), []byte(AccessTokenHash(want.AccessToken))) != 1 {
			return time.Time{}, refuse(reasonATH, "", errors.New("ath does not hash the access token"))
		}
	}
	return iat, nil
}

// AccessTokenHash is a proof's ath for token: base64url(SHA-256(token)), unpadded.
func AccessTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// NormalizeHTU is the form in which htu values are compared (RFC 9449 §4.3 with RFC 3986 §6.2.2
// and §6.2.3): scheme and host lower-cased, the scheme's default port dropped, an empty path
// made "/", query and fragment removed. Only absolute http(s) URLs are accepted.
func NormalizeHTU(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", errors.New("not an absolute http(s) URL")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	hostport := host
	switch {
	case port != "":
		hostport = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"):
		hostport = "[" + host + "]"
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + hostport + path, nil
}
