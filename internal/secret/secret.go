// Package secret protects small secrets at rest (signing keys, refresh-token children) and derives
// purpose-bound keys from the one master key (CCB_SECRET_KEY), so no two uses share key material.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MinMasterKeyLen is the shortest master key accepted; config enforces the same bound.
const MinMasterKeyLen = 32

// The HKDF info strings separate the two derivations: a Box and DeriveKey with the same purpose
// must never end up with the same bytes, or an HMAC key would double as an encryption key.
const (
	boxInfoPrefix = "ccbackend/aes-256-gcm/"
	keyInfoPrefix = "ccbackend/key/"
)

// errOpen is deliberately vague: callers must not learn whether the nonce, tag or aad was wrong.
var errOpen = errors.New("secret: message authentication failed")

// Box seals and opens small secrets with AES-256-GCM under a key bound to one purpose.
type Box struct {
	aead cipher.AEAD
}

// NewBox derives the purpose's key from master (at least MinMasterKeyLen bytes) and returns a Box.
func NewBox(master []byte, purpose string) (*Box, error) {
	if len(master) < MinMasterKeyLen {
		return nil, fmt.Errorf("secret: master key is %d bytes, need at least %d", len(master), MinMasterKeyLen)
	}
	if purpose == "" {
		return nil, errors.New("secret: empty purpose")
	}
	key, err := hkdf.Key(sha256.New, master, nil, boxInfoPrefix+purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("secret: derive key: %w", err)
	}
	return newBoxFromKey(key)
}

func newBoxFromKey(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: gcm: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext and authenticates it together with aad (e.g. the row's id, so a
// ciphertext copied to another row does not open). The random nonce is prepended to the result.
func (b *Box) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secret: nonce: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open reverses Seal; it fails unless ciphertext is unmodified and aad is the one used to seal.
func (b *Box) Open(ciphertext, aad []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(ciphertext) < ns+b.aead.Overhead() {
		return nil, errOpen
	}
	plaintext, err := b.aead.Open(nil, ciphertext[:ns], ciphertext[ns:], aad)
	if err != nil {
		return nil, errOpen
	}
	return plaintext, nil
}

// DeriveKey returns n bytes of key material for purpose (e.g. an HMAC key for cursors). It panics
// if n exceeds HKDF-SHA256's limit (255×32 bytes): that is a programming error, not a runtime one.
func DeriveKey(master []byte, purpose string, n int) []byte {
	key, err := hkdf.Key(sha256.New, master, nil, keyInfoPrefix+purpose, n)
	if err != nil {
		panic(fmt.Sprintf("secret: derive %d-byte key: %v", n, err))
	}
	return key
}
