package push

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// ParseKey reads an APNs auth key: the .p8 file Apple issues is a PKCS#8 PEM holding a P-256 key.
func ParseKey(p8 []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(p8)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("push: the APNs key is not a PEM \"PRIVATE KEY\" (.p8)")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("push: the APNs key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("push: the APNs key is not a P-256 (ES256) key")
	}
	return ec, nil
}

// providerTokens mints the ES256 provider token APNs authenticates us by, and reuses it: Apple
// refuses a token older than an hour and answers TooManyProviderTokenUpdates to a provider that
// mints more often than every 20 minutes, so one token serves every push for `refresh`.
type providerTokens struct {
	key    *ecdsa.PrivateKey
	keyID  string
	teamID string
	// refresh is how long a token is reused.
	refresh time.Duration
	now     func() time.Time

	mu       sync.Mutex
	current  string
	mintedAt time.Time
	mints    int // how many tokens were minted (tests and logs)
}

func newProviderTokens(key *ecdsa.PrivateKey, keyID, teamID string, refresh time.Duration, now func() time.Time) *providerTokens {
	return &providerTokens{key: key, keyID: keyID, teamID: teamID, refresh: refresh, now: now}
}

// token returns the current provider token, minting one when none is fresh.
func (p *providerTokens) token() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.current != "" && now.Sub(p.mintedAt) < p.refresh {
		return p.current, nil
	}
	t := jwt.New()
	if err := t.Set(jwt.IssuerKey, p.teamID); err != nil {
		return "", err
	}
	if err := t.Set(jwt.IssuedAtKey, now.Unix()); err != nil {
		return "", err
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, p.keyID); err != nil {
		return "", err
	}
	signed, err := jwt.Sign(t, jwt.WithKey(jwa.ES256, p.key, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("push: sign the provider token: %w", err)
	}
	p.current, p.mintedAt = string(signed), now
	p.mints++
	return p.current, nil
}

// invalidate drops token if it is still the current one (APNs refused it), so the next call
// mints afresh; a token another sender already replaced is left alone.
func (p *providerTokens) invalidate(token string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current == token {
		p.current = ""
	}
}

// minted reports how many tokens were minted so far.
func (p *providerTokens) minted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mints
}
