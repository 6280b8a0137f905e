package auth

// The persistence half of KeyRing: loading keys from signing_keys and creating new ones.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/store"
)

func (k *KeyRing) reload(ctx context.Context) error {
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	return k.reloadLocked(ctx)
}

func (k *KeyRing) reloadLocked(ctx context.Context) error {
	rows, err := k.st.Queries().ListVerifyingSigningKeys(ctx, k.now())
	if err != nil {
		return fmt.Errorf("keyring: load: %w", store.MapError(err))
	}
	keys := make(map[string]keyringPublic, len(rows))
	order := make([]string, 0, len(rows))
	var signer *keyringSigner
	for _, r := range rows {
		pub, err := keyringParsePublic(r)
		if err != nil {
			// One bad row must not take verification down with it; the active key is checked below.
			k.log.Error("signing keys: skipping unreadable key", "kid", r.Kid, "err", err)
			continue
		}
		keys[r.Kid] = pub
		order = append(order, r.Kid)
		if signer == nil && r.RetiredAt == nil {
			if signer, err = k.loadSigner(r, pub.pub); err != nil {
				return err
			}
		}
	}
	if signer == nil {
		return errors.New("keyring: no active signing key in the database")
	}
	k.mu.Lock()
	k.signer, k.keys, k.order = signer, keys, order
	k.mu.Unlock()
	return nil
}

// loadSigner decrypts the active key, reusing the loaded one when it has not changed.
func (k *KeyRing) loadSigner(r db.SigningKey, pub *rsa.PublicKey) (*keyringSigner, error) {
	k.mu.RLock()
	cur := k.signer
	k.mu.RUnlock()
	if cur != nil && cur.kid == r.Kid {
		return cur, nil
	}
	der, err := k.box.Open(r.PrivateEnc, []byte(r.Kid))
	if err != nil {
		return nil, fmt.Errorf("keyring: decrypt key %s (is CCB_SECRET_KEY the one it was created with?): %w", r.Kid, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keyring: parse key %s: %w", r.Kid, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok || !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("keyring: key %s: private key does not match its published public key", r.Kid)
	}
	return &keyringSigner{kid: r.Kid, priv: priv, createdAt: r.CreatedAt}, nil
}

// rotateTx creates a key, makes it the active one and retires the others, inside q's transaction
// (the caller holds the advisory lock).
func (k *KeyRing) rotateTx(ctx context.Context, q *db.Queries, now time.Time, reason string) (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, keyringRSABits)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	kid := keyringNewKid()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	// The kid as aad binds the ciphertext to its row: a swapped private_enc does not open.
	enc, err := k.box.Seal(der, []byte(kid))
	if err != nil {
		return "", err
	}
	pubJSON, err := json.Marshal(keyringStoredJWK{
		Kty: "RSA", Kid: kid, Use: "sig", Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(priv.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(priv.E)).Bytes()),
	})
	if err != nil {
		return "", err
	}
	if err := q.InsertSigningKey(ctx, db.InsertSigningKeyParams{Kid: kid, PrivateEnc: enc, PublicJwk: pubJSON, CreatedAt: now}); err != nil {
		return "", err
	}
	retired, err := q.RetireSigningKeysExcept(ctx, db.RetireSigningKeysExceptParams{
		RetiredAt: now, VerifyUntil: now.Add(k.tokenTTL + keyringLeeway), ActiveKid: kid,
	})
	if err != nil {
		return "", err
	}
	details := map[string]any{"kid": kid, "reason": reason}
	switch len(retired) {
	case 0:
	case 1:
		details["retired_kid"] = retired[0]
	default: // only after a crash mid-rotation or a manual edit; record them all
		details["retired_kid"], details["retired_kids"] = retired[0], retired
	}
	if err := audit.Record(ctx, q, now, audit.Event{Action: audit.KeysRotate, Outcome: audit.Success, Details: details}); err != nil {
		return "", err
	}
	k.log.Info("signing key rotated", "kid", kid, "retired", retired, "reason", reason)
	return kid, nil
}

func keyringParsePublic(r db.SigningKey) (keyringPublic, error) {
	var j keyringStoredJWK
	if err := json.Unmarshal(r.PublicJwk, &j); err != nil {
		return keyringPublic{}, err
	}
	if j.Kty != "RSA" || j.Kid != r.Kid {
		return keyringPublic{}, fmt.Errorf("kty %q kid %q: not this row's RSA key", j.Kty, j.Kid)
	}
	n, errN := base64.RawURLEncoding.DecodeString(j.N)
	e, errE := base64.RawURLEncoding.DecodeString(j.E)
	if err := errors.Join(errN, errE); err != nil || len(e) == 0 || len(e) > 4 {
		return keyringPublic{}, fmt.Errorf("bad n or e: %v", err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	return keyringPublic{jwk: PublicJWK{Kid: j.Kid, N: j.N, E: j.E}, pub: pub, verifyUntil: r.VerifyUntil}, nil
}

// keyringNewKid returns 128 random bits, base64url: unguessable and safe in headers and URLs.
func keyringNewKid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
