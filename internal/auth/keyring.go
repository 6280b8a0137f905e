package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/periodic"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// SigningKeysPurpose is the secret.Box purpose that encrypts signing keys at rest.
const SigningKeysPurpose = "signing-keys"

const (
	keyringRSABits = 2048
	// keyringLeeway covers the verifier's exp skew (60 s) plus the minute an instance that has not
	// reloaded yet may keep signing with a just-retired key: a retired key keeps verifying this
	// long after the last token it could have signed expires.
	keyringLeeway = 2 * time.Minute
	// keyringRunEvery bounds how stale an instance's keys can be after another one rotates.
	keyringRunEvery = time.Minute
	// keyringMissGap limits reloads caused by unknown kids, so forged kids cannot hammer the DB.
	keyringMissGap = 5 * time.Second
)

// PublicJWK is a public RSA signing key as the JWKS endpoint publishes it (base64url n and e).
type PublicJWK struct {
	Kid string
	N   string
	E   string
}

// keyringStoredJWK is the public_jwk column: a complete RFC 7517 key, so it can be served as is.
type keyringStoredJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

type keyringPublic struct {
	jwk         PublicJWK
	pub         *rsa.PublicKey
	verifyUntil *time.Time // nil while not retired
}

type keyringSigner struct {
	kid       string
	priv      *rsa.PrivateKey
	createdAt time.Time
}

// KeyRing holds the access-token signing keys. PostgreSQL is the source of truth so every
// instance signs with the same active key and accepts the same retired ones.
type KeyRing struct {
	st          *store.Store
	box         *secret.Box
	now         func() time.Time
	rotateEvery time.Duration
	tokenTTL    time.Duration
	log         *slog.Logger
	runEvery    time.Duration
	missGap     time.Duration

	mu     sync.RWMutex
	signer *keyringSigner
	keys   map[string]keyringPublic
	order  []string // kids, newest first

	reloadMu sync.Mutex // one reload at a time, so an older snapshot never replaces a newer one
	lastMiss time.Time
}

// NewKeyRing returns an empty ring; call Ensure before issuing or verifying tokens.
func NewKeyRing(st *store.Store, box *secret.Box, now func() time.Time, rotateEvery, tokenTTL time.Duration, log *slog.Logger) *KeyRing {
	if log == nil {
		log = slog.Default()
	}
	return &KeyRing{
		st: st, box: box, now: now, rotateEvery: rotateEvery, tokenTTL: tokenTTL, log: log,
		runEvery: keyringRunEvery, missGap: keyringMissGap, keys: map[string]keyringPublic{},
	}
}

// Ensure creates the first key, or rotates the active one once it is rotateEvery old, and loads
// the keys. The advisory lock makes concurrent starts create or rotate exactly once.
func (k *KeyRing) Ensure(ctx context.Context) error {
	now := k.now()
	err := k.st.InTx(ctx, func(q *db.Queries) error {
		if err := q.LockSigningKeys(ctx); err != nil {
			return err
		}
		active, err := q.GetActiveSigningKey(ctx)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			_, err = k.rotateTx(ctx, q, now, "initial")
		case err == nil && now.Sub(active.CreatedAt) >= k.rotateEvery:
			_, err = k.rotateTx(ctx, q, now, "scheduled")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("keyring: ensure: %w", err)
	}
	return k.reload(ctx)
}

// Rotate makes a new key active at once and retires the previous one, which keeps verifying until
// the tokens it signed have expired. It returns the new key's kid.
func (k *KeyRing) Rotate(ctx context.Context) (string, error) {
	now := k.now()
	var kid string
	err := k.st.InTx(ctx, func(q *db.Queries) error {
		if err := q.LockSigningKeys(ctx); err != nil {
			return err
		}
		var err error
		kid, err = k.rotateTx(ctx, q, now, "manual")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("keyring: rotate: %w", err)
	}
	return kid, k.reload(ctx)
}

// Run keeps the ring in step with the database (another instance may have rotated) and rotates
// when the active key is due, until ctx is done. Errors are logged: the loaded keys stay usable.
func (k *KeyRing) Run(ctx context.Context) {
	periodic.Every(ctx, k.runEvery, k.log, "signing keys: refresh", k.refresh)
}

func (k *KeyRing) refresh(ctx context.Context) error {
	if err := k.reload(ctx); err != nil {
		return err
	}
	k.mu.RLock()
	due := k.signer == nil || k.now().Sub(k.signer.createdAt) >= k.rotateEvery
	k.mu.RUnlock()
	if !due {
		return nil // the common case takes no lock in PostgreSQL
	}
	return k.Ensure(ctx)
}

// PublicKeys returns the keys a verifier must accept: the active one and retired ones that still
// verify, newest first.
func (k *KeyRing) PublicKeys() []PublicJWK {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]PublicJWK, 0, len(k.order))
	for _, kid := range k.order {
		if p := k.keys[kid]; keyringVerifies(p, now) {
			out = append(out, p.jwk)
		}
	}
	return out
}

// signingKey returns the active key.
func (k *KeyRing) signingKey() (string, *rsa.PrivateKey, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.signer == nil {
		return "", nil, errors.New("keyring: no signing key loaded (Ensure not called)")
	}
	return k.signer.kid, k.signer.priv, nil
}

// verificationKey returns the public key for kid. An unknown kid may belong to a key another
// instance has just created, so it triggers a reload, at most once per missGap.
func (k *KeyRing) verificationKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	if pub, ok := k.lookup(kid); ok {
		return pub, nil
	}
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	if pub, ok := k.lookup(kid); ok { // reloaded while we waited
		return pub, nil
	}
	now := k.now()
	if !k.lastMiss.IsZero() && now.Sub(k.lastMiss) < k.missGap {
		return nil, fmt.Errorf("keyring: unknown kid %q", kid)
	}
	k.lastMiss = now
	if err := k.reloadLocked(ctx); err != nil {
		return nil, err
	}
	if pub, ok := k.lookup(kid); ok {
		return pub, nil
	}
	return nil, fmt.Errorf("keyring: unknown kid %q", kid)
}

func (k *KeyRing) lookup(kid string) (*rsa.PublicKey, bool) {
	now := k.now()
	k.mu.RLock()
	p, ok := k.keys[kid]
	k.mu.RUnlock()
	if !ok || !keyringVerifies(p, now) {
		return nil, false
	}
	return p.pub, true
}

// keyringVerifies applies verify_until between reloads, so a key stops verifying on time.
func keyringVerifies(p keyringPublic, now time.Time) bool {
	return p.verifyUntil == nil || now.Before(*p.verifyUntil)
}
