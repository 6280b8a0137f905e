package auth

import (
	"sync"
	"time"
)

// verifiedTokens remembers the claims of access tokens whose signature and claims were verified,
// so a client sending the same token again (the app sends one token for its whole lifetime)
// does not pay for RS256 and JWT parsing on every request: they were most of the CPU and
// garbage of authenticating a request. An entry is used only while its token has not expired
// and its key still verifies (a key retired early takes its tokens with it); revocation is
// checked on every request regardless. Only verified tokens get in, keyed by their exact text.
type verifiedTokens struct {
	mu      sync.Mutex
	entries map[string]verifiedToken
	max     int
}

type verifiedToken struct {
	claims AccessClaims
	kid    string
}

// verifiedTokensMax bounds the memory: about 1 KB an entry.
const verifiedTokensMax = 4096

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{entries: make(map[string]verifiedToken), max: max}
}

// get returns the claims remembered for raw if its key still verifies and it has not expired.
func (v *verifiedTokens) get(raw string, now time.Time, keyVerifies func(kid string) bool) (AccessClaims, bool) {
	v.mu.Lock()
	e, ok := v.entries[raw]
	v.mu.Unlock()
	if !ok || !now.Before(e.claims.ExpiresAt.Add(jwtClockSkew)) || !keyVerifies(e.kid) {
		return AccessClaims{}, false
	}
	return e.claims, true
}

// put remembers a verified token; when full it first drops expired entries, then arbitrary ones.
func (v *verifiedTokens) put(raw, kid string, c AccessClaims, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= v.max {
		for k, e := range v.entries {
			if !now.Before(e.claims.ExpiresAt.Add(jwtClockSkew)) || len(v.entries) >= v.max {
				delete(v.entries, k)
			}
		}
	}
	v.entries[raw] = verifiedToken{claims: c, kid: kid}
}
