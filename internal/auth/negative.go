package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// negativeKeyTTL is how long an API key hash that matched no key is answered from memory.
const negativeKeyTTL = 5 * time.Second

// maxNegativeKeys bounds the memory a flood of made-up keys can take (≈ 50 bytes an entry).
const maxNegativeKeys = 50_000

// negativeKeys remembers, briefly and per process, API key hashes that matched no key, so the same
// wrong key presented again (a misconfigured client in a retry loop, a revoked key still
// deployed) costs no PostgreSQL lookup.
//
// Only "no such key" is remembered, because that answer cannot turn into a match: every create
// and rotate makes a fresh 256-bit secret, nobody can present it before it exists, and a revoked,
// expired or superseded hash never becomes valid again. So a new key works at once. A key that
// exists but is refused for another reason (its user is disabled, and may be enabled again) is not
// remembered, and no positive answer is ever cached: a revocation ends a key at once.
type negativeKeys struct {
	mu    sync.Mutex
	until map[[sha256.Size]byte]time.Time
	now   func() time.Time
}

func newNegativeKeys(now func() time.Time) *negativeKeys {
	return &negativeKeys{until: map[[sha256.Size]byte]time.Time{}, now: now}
}

// has reports whether hash is known to match no key.
func (n *negativeKeys) has(hash []byte) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	until, ok := n.until[[sha256.Size]byte(hash)]
	return ok && n.now().Before(until)
}

// add remembers that hash matched no key.
func (n *negativeKeys) add(hash []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	if len(n.until) >= maxNegativeKeys {
		for h, until := range n.until {
			if !now.Before(until) {
				delete(n.until, h)
			}
		}
		if len(n.until) >= maxNegativeKeys { // all fresh: a flood; start over rather than grow
			clear(n.until)
		}
	}
	n.until[[sha256.Size]byte(hash)] = now.Add(negativeKeyTTL)
}
