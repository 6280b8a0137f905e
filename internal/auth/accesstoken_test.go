package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

type jwtFixture struct {
	url    string
	clock  *keyringClock
	ring   *auth.KeyRing
	tokens *auth.AccessTokens
}

func newJWTFixture(t testing.TB) *jwtFixture {
	t.Helper()
	f := &jwtFixture{url: testutil.NewDatabase(t), clock: newKeyringClock()}
	f.ring = f.instance(t)
	f.tokens = auth.NewAccessTokens(f.ring, keyringTestTTL, f.clock.Now)
	return f
}

// instance starts another KeyRing on the same database, as a second server process would.
func (f *jwtFixture) instance(t testing.TB) *auth.KeyRing {
	t.Helper()
	st := keyringOpen(t, f.url)
	k := keyringNew(t, st, f.clock, keyringTestMaster)
	if err := k.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return k
}

func jwtClaims() auth.AccessClaims {
	return auth.AccessClaims{UserID: uuid.New(), Roles: []string{"user", "admin"}, FamilyID: uuid.New(), Audience: auth.AudienceIOS}
}

func jwtIssue(t testing.TB, tokens *auth.AccessTokens) (string, auth.AccessClaims) {
	t.Helper()
	tok, c, err := tokens.Issue(context.Background(), jwtClaims())
	if err != nil {
		t.Fatal(err)
	}
	return tok, c
}

// jwtMustReject asserts that raw fails with the one client-facing error.
func jwtMustReject(t *testing.T, tokens *auth.AccessTokens, raw string) {
	t.Helper()
	c, err := tokens.Verify(context.Background(), raw)
	if err == nil {
		t.Fatalf("accepted: %+v", c)
	}
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != apperr.Unauthenticated || ae.Code != "invalid_token" || ae.Detail != "the access token is invalid or expired" {
		t.Fatalf("error = %#v, want the invalid_token error", err)
	}
}

func jwtMustAccept(t *testing.T, tokens *auth.AccessTokens, raw string) auth.AccessClaims {
	t.Helper()
	c, err := tokens.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	return c
}

func TestAccessTokenRoundTrip(t *testing.T) {
	f := newJWTFixture(t)
	want := jwtClaims()
	want.Audience = auth.AudienceWeb
	raw, issued, err := f.tokens.Issue(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	if issued.TokenID == "" || uuid.Validate(issued.TokenID) != nil {
		t.Fatalf("jti %q is not a uuid", issued.TokenID)
	}
	if !issued.ExpiresAt.Equal(f.clock.Now().Add(keyringTestTTL)) {
		t.Fatalf("exp = %v", issued.ExpiresAt)
	}
	got := jwtMustAccept(t, f.tokens, raw)
	if got.UserID != want.UserID || got.FamilyID != want.FamilyID || !slices.Equal(got.Roles, want.Roles) ||
		got.TokenID != issued.TokenID || got.Audience != auth.AudienceWeb || !got.ExpiresAt.Equal(issued.ExpiresAt) {
		t.Fatalf("verified %+v, issued %+v", got, issued)
	}

	parts := strings.Split(raw, ".")
	var hdr, claims map[string]any
	for i, dst := range []*map[string]any{&hdr, &claims} {
		b, _ := base64.RawURLEncoding.DecodeString(parts[i])
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	kid, _ := auth.KeyRingSigner(f.ring)
	if hdr["alg"] != "RS256" || hdr["typ"] != "at+jwt" || hdr["kid"] != kid {
		t.Fatalf("header = %v", hdr)
	}
	now := float64(f.clock.Now().Unix())
	if claims["iss"] != "claude-code-backend" || claims["sub"] != want.UserID.String() || claims["sid"] != want.FamilyID.String() ||
		claims["jti"] != issued.TokenID || claims["iat"] != now || claims["nbf"] != now || claims["exp"] != now+keyringTestTTL.Seconds() {
		t.Fatalf("claims = %v", claims)
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != auth.AudienceWeb {
		t.Fatalf("aud = %v", claims["aud"])
	}

	// No roles still gives an array, and the verifier returns an empty list.
	noRoles := jwtClaims()
	noRoles.Roles = nil
	raw, _, err = f.tokens.Issue(context.Background(), noRoles)
	if err != nil {
		t.Fatal(err)
	}
	if got := jwtMustAccept(t, f.tokens, raw); got.Roles == nil || len(got.Roles) != 0 {
		t.Fatalf("roles = %#v", got.Roles)
	}
}

func TestAccessTokenIssueRejectsBadClaims(t *testing.T) {
	f := newJWTFixture(t)
	for name, mutate := range map[string]func(*auth.AccessClaims){
		"unknown audience": func(c *auth.AccessClaims) { c.Audience = "someone-else" },
		"no user":          func(c *auth.AccessClaims) { c.UserID = uuid.Nil },
		"no family":        func(c *auth.AccessClaims) { c.FamilyID = uuid.Nil },
	} {
		c := jwtClaims()
		mutate(&c)
		if _, _, err := f.tokens.Issue(context.Background(), c); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	f := newJWTFixture(t)
	raw, _ := jwtIssue(t, f.tokens)
	f.clock.Advance(keyringTestTTL + 59*time.Second) // within the allowed skew
	jwtMustAccept(t, f.tokens, raw)
	f.clock.Advance(2 * time.Second)
	jwtMustReject(t, f.tokens, raw)
}

func TestAccessTokenRetiredKeyVerifiesUntilVerifyUntil(t *testing.T) {
	f := newJWTFixture(t)
	oldKid, _ := auth.KeyRingSigner(f.ring)
	// A token living longer than the ring's tokenTTL, so only the key's expiry can reject it.
	long := auth.NewAccessTokens(f.ring, 2*time.Hour, f.clock.Now)
	longRaw, _ := jwtIssue(t, long)
	normalRaw, _ := jwtIssue(t, f.tokens)
	if _, err := f.ring.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	verifyUntil := f.clock.Now().Add(keyringTestTTL + 2*time.Minute)

	// A normal token signed just before the rotation lives its whole life, skew included.
	f.clock.Advance(keyringTestTTL + 59*time.Second)
	jwtMustAccept(t, f.tokens, normalRaw)
	if !slices.Contains(keyringKids(f.ring.PublicKeys()), oldKid) {
		t.Fatal("retired key left the JWKS before its tokens expired")
	}
	// A fresh instance that loads after the rotation accepts it too.
	jwtMustAccept(t, auth.NewAccessTokens(f.instance(t), keyringTestTTL, f.clock.Now), longRaw)

	f.clock.Advance(verifyUntil.Sub(f.clock.Now()) - time.Second)
	jwtMustAccept(t, f.tokens, longRaw)
	f.clock.Advance(time.Second)
	jwtMustReject(t, f.tokens, longRaw)
	if kids := keyringKids(f.ring.PublicKeys()); len(kids) != 1 || kids[0] == oldKid {
		t.Fatalf("JWKS after verify_until = %v", kids)
	}
	jwtMustReject(t, auth.NewAccessTokens(f.instance(t), keyringTestTTL, f.clock.Now), longRaw)
}

func TestAccessTokenMultiInstanceAgreement(t *testing.T) {
	f := newJWTFixture(t)
	other := auth.NewAccessTokens(f.instance(t), keyringTestTTL, f.clock.Now)
	raw, _ := jwtIssue(t, f.tokens)
	jwtMustAccept(t, other, raw)

	newKid, err := f.ring.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = jwtIssue(t, f.tokens)
	if c := jwtMustAccept(t, other, raw); c.TokenID == "" {
		t.Fatal("no jti")
	}
	// The other instance has not reloaded on its own yet: it still signs with the retired key,
	// and the rotating instance still accepts that.
	staleRaw, _ := jwtIssue(t, other)
	jwtMustAccept(t, f.tokens, staleRaw)
	if !strings.Contains(jwtHeader(t, raw), newKid) {
		t.Fatal("rotating instance does not sign with its new key")
	}
}

func TestAccessTokenUnknownKidReloadIsThrottled(t *testing.T) {
	f := newJWTFixture(t)
	otherRing := f.instance(t)
	other := auth.NewAccessTokens(otherRing, keyringTestTTL, f.clock.Now)
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	h := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "made-up"}
	jwtMustReject(t, other, jwtForge(h, map[string]any{}, jwtRS256(attacker))) // spends the reload

	if _, err := f.ring.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, _ := jwtIssue(t, f.tokens)
	jwtMustReject(t, other, raw) // the next reload is not due yet
	f.clock.Advance(5 * time.Second)
	jwtMustAccept(t, other, raw)
}

func jwtHeader(t *testing.T, raw string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAccessTokenWithoutEnsureFails(t *testing.T) {
	clock := newKeyringClock()
	ring := keyringNew(t, keyringOpen(t, testutil.NewDatabase(t)), clock, keyringTestMaster)
	tokens := auth.NewAccessTokens(ring, keyringTestTTL, clock.Now)
	if _, _, err := tokens.Issue(context.Background(), jwtClaims()); err == nil {
		t.Fatal("issued without a key")
	}
	if _, err := tokens.Verify(context.Background(), "a.b.c"); apperr.KindOf(err) != apperr.Unauthenticated {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkRSAKeyGeneration(b *testing.B) {
	for b.Loop() {
		if _, err := rsa.GenerateKey(rand.Reader, 2048); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAccessTokenIssue(b *testing.B) {
	f := newJWTFixture(b)
	for b.Loop() {
		jwtIssue(b, f.tokens)
	}
}

func BenchmarkAccessTokenVerify(b *testing.B) {
	f := newJWTFixture(b)
	raw, _ := jwtIssue(b, f.tokens)
	for b.Loop() {
		if _, err := f.tokens.Verify(context.Background(), raw); err != nil {
			b.Fatal(err)
		}
	}
}

// A token verified once is remembered by its exact text: the same text verifies again with the
// same claims, while any other text (a changed signature or claim) is verified afresh and fails.
func TestAccessTokenVerifiedOnceRemembersOnlyThatText(t *testing.T) {
	f := newJWTFixture(t)
	raw, issued := jwtIssue(t, f.tokens)
	first := jwtMustAccept(t, f.tokens, raw)
	if again := jwtMustAccept(t, f.tokens, raw); again.TokenID != first.TokenID || again.UserID != issued.UserID || !again.ExpiresAt.Equal(first.ExpiresAt) {
		t.Errorf("second verification = %+v, want %+v", again, first)
	}
	head, sig, _ := strings.Cut(raw[strings.Index(raw, ".")+1:], ".")
	flipped := []byte(sig)
	flipped[len(flipped)/2] ^= 1
	jwtMustReject(t, f.tokens, raw[:strings.Index(raw, ".")+1]+head+"."+string(flipped))
	jwtMustReject(t, f.tokens, raw[:len(raw)-1])
}
