package auth

import (
	"crypto/rsa"
	"time"
)

// SetKeyRingTiming shortens Run's period and the unknown-kid reload gap for tests.
func SetKeyRingTiming(k *KeyRing, runEvery, missGap time.Duration) {
	k.runEvery, k.missGap = runEvery, missGap
}

// KeyRingSigner exposes the active key so tests can forge tokens with a trusted key.
func KeyRingSigner(k *KeyRing) (string, *rsa.PrivateKey) {
	kid, priv, err := k.signingKey()
	if err != nil {
		panic(err)
	}
	return kid, priv
}
