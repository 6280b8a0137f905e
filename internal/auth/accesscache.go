package auth

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// accessCache remembers, in process, access tokens that Redis (or PostgreSQL) just answered were
// not revoked, so the next requests with the same token skip the revocation lookup. It is kept in
// step across instances the way the verified-key cache is (keyInvalidation): a revocation drops
// its tokens and families on every instance before it returns, and the cache serves only while
// that subscription is up and heard from, starting empty at every (re)connection. An entry is
// trusted for liveCacheTTL at most — as long as Redis trusts its own "not revoked" answer — which
// bounds a revocation whose publication was lost.
//
// Entries are by token id (a family revoked drops every token of it): a token denied alone is
// checked in Redis on its next use, whatever its family's state.
type accessCache struct {
	ttl  time.Duration
	max  int
	now  func() time.Time
	live func() bool

	mu      sync.Mutex
	byToken map[string]accessEntry
	// epoch changes with every invalidation and flush: a lookup that began in an older epoch may
	// have read Redis before the revocation was written, so its answer is not stored.
	epoch uint64
}

type accessEntry struct {
	family   uuid.UUID
	notAfter time.Time
}

// accessCacheMax bounds the memory: about 100 bytes an entry.
const accessCacheMax = 50_000

func newAccessCache(ttl time.Duration, max int, now func() time.Time, live func() bool) *accessCache {
	return &accessCache{ttl: ttl, max: max, now: now, live: live, byToken: map[string]accessEntry{}}
}

// alive reports whether token (of family) is known here not to be revoked. A nil cache knows
// nothing.
func (c *accessCache) alive(family uuid.UUID, token string) bool {
	if c == nil || token == "" || !c.live() {
		return false
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byToken[token]
	return ok && e.family == family && now.Before(e.notAfter)
}

// begin returns the epoch to hand to put once the lookup has answered.
func (c *accessCache) begin() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put remembers that token (of family) was not revoked, unless an invalidation or flush happened
// since begin.
func (c *accessCache) put(epoch uint64, family uuid.UUID, token string) {
	if c == nil || token == "" || !c.live() {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if len(c.byToken) >= c.max {
		for k, e := range c.byToken {
			if !now.Before(e.notAfter) || len(c.byToken) >= c.max {
				delete(c.byToken, k)
			}
		}
	}
	c.byToken[token] = accessEntry{family: family, notAfter: now.Add(c.ttl)}
}

// forgetSubjects drops the tokens revoked and every token of the families revoked. Revocations
// are rare and the cache bounded, so a scan costs less than an index kept on every request.
func (c *accessCache) forgetSubjects(s subjects) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, t := range s.tokens {
		delete(c.byToken, t)
	}
	if len(s.families) == 0 {
		return
	}
	revoked := make(map[uuid.UUID]bool, len(s.families))
	for _, f := range s.families {
		revoked[f] = true
	}
	for k, e := range c.byToken {
		if revoked[e.family] {
			delete(c.byToken, k)
		}
	}
}

// flush empties the cache (the subscription went down or came back).
func (c *accessCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.byToken)
}
