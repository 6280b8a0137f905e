package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Access-token constants shared with clients (DESIGN §3).
const (
	AccessTokenIssuer = "claude-code-backend"
	AudienceIOS       = "claude-code-ios"
	AudienceWeb       = "claude-code-web"
	// AccessTokenType is the JOSE typ (RFC 9068): it stops any other JWT we might ever sign with
	// these keys (an ID token, a link token) from being accepted as an access token.
	AccessTokenType = "at+jwt"
)

const (
	jwtClockSkew = 60 * time.Second
	// jwtMaxLen rejects absurd inputs before any base64 or JSON work.
	jwtMaxLen = 8 << 10
)

// AccessClaims is what an access token asserts about its bearer.
type AccessClaims struct {
	UserID    uuid.UUID // sub
	Roles     []string  // roles
	FamilyID  uuid.UUID // sid: the refresh family (login) the token belongs to
	TokenID   string    // jti
	Audience  string    // the single aud: AudienceIOS or AudienceWeb
	ExpiresAt time.Time // exp
	// AuthTime is when the login last authenticated (auth_time): the sign-in, or the latest
	// re-authentication. Zero for tokens issued before it was recorded.
	AuthTime time.Time
	AMR      []string // amr (RFC 8176): how, e.g. ["pwd"], ["pwd","otp","mfa"]
}

// AccessTokens issues and verifies RS256 access tokens with the keys of a KeyRing.
type AccessTokens struct {
	ring     *KeyRing
	ttl      time.Duration
	now      func() time.Time
	verified *verifiedTokens
}

// NewAccessTokens returns tokens that live for ttl, timed by now.
func NewAccessTokens(ring *KeyRing, ttl time.Duration, now func() time.Time) *AccessTokens {
	return &AccessTokens{ring: ring, ttl: ttl, now: now, verified: newVerifiedTokens(verifiedTokensMax)}
}

var errInvalidToken = apperr.New(apperr.Unauthenticated, "invalid_token", "the access token is invalid or expired")

func jwtKnownAudience(aud string) bool { return aud == AudienceIOS || aud == AudienceWeb }

// Issue signs a token for c with the active key. It fills TokenID (a random jti) and ExpiresAt;
// the returned claims are exactly what Verify will return for the token.
func (a *AccessTokens) Issue(_ context.Context, c AccessClaims) (string, AccessClaims, error) {
	if !jwtKnownAudience(c.Audience) {
		return "", AccessClaims{}, fmt.Errorf("access token: unknown audience %q", c.Audience)
	}
	if c.UserID == uuid.Nil || c.FamilyID == uuid.Nil {
		return "", AccessClaims{}, errors.New("access token: user and family ids are required")
	}
	kid, priv, err := a.ring.signingKey()
	if err != nil {
		return "", AccessClaims{}, err
	}
	// NumericDate has whole seconds; truncating here keeps the returned ExpiresAt honest.
	now := a.now().UTC().Truncate(time.Second)
	c.TokenID = uuid.NewString()
	c.ExpiresAt = now.Add(a.ttl)
	if c.Roles == nil {
		c.Roles = []string{} // a JSON array, never null, for clients
	}
	tok, err := jwt.NewBuilder().
		Issuer(AccessTokenIssuer).
		Audience([]string{c.Audience}).
		Subject(c.UserID.String()).
		JwtID(c.TokenID).
		IssuedAt(now).
		NotBefore(now).
		Expiration(c.ExpiresAt).
		Claim("sid", c.FamilyID.String()).
		Claim("roles", c.Roles).
		Claim("auth_time", c.AuthTime.Unix()).
		Claim("amr", nonNilStrings(c.AMR)).
		Build()
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("access token: build: %w", err)
	}
	hdr := jws.NewHeaders()
	if err := errors.Join(hdr.Set(jws.KeyIDKey, kid), hdr.Set(jws.TypeKey, AccessTokenType)); err != nil {
		return "", AccessClaims{}, fmt.Errorf("access token: header: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("access token: sign: %w", err)
	}
	return string(signed), c, nil
}

// Verify checks raw and returns its claims. Every failure is the same Unauthenticated error (the
// cause is wrapped for the logs only), so clients cannot probe which check failed.
func (a *AccessTokens) Verify(ctx context.Context, raw string) (AccessClaims, error) {
	now := a.now()
	keyVerifies := func(kid string) bool { _, ok := a.ring.lookup(kid); return ok }
	if c, ok := a.verified.get(raw, now, keyVerifies); ok {
		return c, nil
	}
	c, kid, err := a.verify(ctx, raw)
	if err != nil {
		return AccessClaims{}, apperr.Wrap(err, errInvalidToken.Kind, errInvalidToken.Code, errInvalidToken.Detail)
	}
	a.verified.put(raw, kid, c, now)
	return c, nil
}

func (a *AccessTokens) verify(ctx context.Context, raw string) (AccessClaims, string, error) {
	// Compact serialization only: the JSON forms allow several signatures and unprotected headers.
	if len(raw) > jwtMaxLen || strings.Count(raw, ".") != 2 {
		return AccessClaims{}, "", errors.New("not a compact JWS")
	}
	var kid string
	// The key is chosen by kid among our own keys and the algorithm is pinned, whatever the header
	// says: alg none, HS256 keyed with our public key, and embedded jwk/jku/x5u keys all fail here.
	keys := jws.KeyProviderFunc(func(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		h := sig.ProtectedHeaders()
		if h.Algorithm() != jwa.RS256 {
			return fmt.Errorf("alg %q is not RS256", h.Algorithm())
		}
		if !strings.EqualFold(h.Type(), AccessTokenType) {
			return fmt.Errorf("typ %q is not %s", h.Type(), AccessTokenType)
		}
		if h.KeyID() == "" {
			return errors.New("no kid")
		}
		pub, err := a.ring.verificationKey(ctx, h.KeyID())
		if err != nil {
			return err
		}
		kid = h.KeyID()
		sink.Key(jwa.RS256, pub)
		return nil
	})
	tok, err := jwt.Parse([]byte(raw),
		jwt.WithKeyProvider(keys),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(a.now)),
		jwt.WithAcceptableSkew(jwtClockSkew),
		jwt.WithIssuer(AccessTokenIssuer),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.JwtIDKey),
	)
	if err != nil {
		return AccessClaims{}, "", err
	}
	c, err := jwtClaimsFrom(tok)
	return c, kid, err
}

// jwtClaimsFrom reads our claims from a verified token, rejecting any that are malformed.
func jwtClaimsFrom(tok jwt.Token) (AccessClaims, error) {
	aud := tok.Audience()
	if len(aud) != 1 || !jwtKnownAudience(aud[0]) {
		return AccessClaims{}, fmt.Errorf("aud %q is not one of ours", aud)
	}
	userID, err := uuid.Parse(tok.Subject())
	if err != nil {
		return AccessClaims{}, fmt.Errorf("sub: %w", err)
	}
	sidRaw, _ := tok.Get("sid")
	sid, _ := sidRaw.(string)
	familyID, err := uuid.Parse(sid)
	if err != nil {
		return AccessClaims{}, fmt.Errorf("sid: %w", err)
	}
	rolesRaw, ok := tok.Get("roles")
	list, isList := rolesRaw.([]any)
	if !ok || !isList {
		return AccessClaims{}, errors.New("roles: missing or not an array")
	}
	roles := make([]string, 0, len(list))
	for _, r := range list {
		s, ok := r.(string)
		if !ok {
			return AccessClaims{}, errors.New("roles: not a string")
		}
		roles = append(roles, s)
	}
	c := AccessClaims{
		UserID: userID, Roles: roles, FamilyID: familyID, TokenID: tok.JwtID(),
		Audience: aud[0], ExpiresAt: tok.Expiration(),
	}
	c.AuthTime, c.AMR = signInClaims(tok)
	return c, nil
}
