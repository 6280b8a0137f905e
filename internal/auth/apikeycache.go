package auth

import (
	"container/list"
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// keyCache remembers verified API keys in process: hash → the principal they authenticate,
// bounded by maxEntries (least recently used goes first) and trusted for at most ttl, never past
// the secret's own end (expiry or rotation grace). It serves only while live() says the
// invalidation subscription is up, so a revocation published while it was down is not missed;
// every (re)connection starts from an empty cache.
type keyCache struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time
	live       func() bool

	mu     sync.Mutex
	lru    *list.List // of *keyEntry, most recently used first
	byHash map[[sha256.Size]byte]*list.Element
	// epoch changes with every invalidation and flush: a lookup that began in an older epoch
	// may have read PostgreSQL before the revocation committed, so its answer is not stored.
	epoch uint64
}

type keyEntry struct {
	hash     [sha256.Size]byte
	p        Principal
	notAfter time.Time
	lastUsed time.Time // as PostgreSQL has it, or as queued for writing; zero: never used
}

func newKeyCache(ttl time.Duration, maxEntries int, now func() time.Time, live func() bool) *keyCache {
	return &keyCache{ttl: ttl, maxEntries: maxEntries, now: now, live: live, lru: list.New(), byHash: map[[sha256.Size]byte]*list.Element{}}
}

// get returns the cached entry for hash when it may be trusted now.
func (c *keyCache) get(hash []byte) (keyEntry, bool) {
	if c.maxEntries <= 0 || !c.live() {
		return keyEntry{}, false
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byHash[[sha256.Size]byte(hash)]
	if !ok {
		return keyEntry{}, false
	}
	e := el.Value.(*keyEntry)
	if !now.Before(e.notAfter) {
		c.remove(el)
		return keyEntry{}, false
	}
	c.lru.MoveToFront(el)
	return *e, true
}

// begin returns the epoch to hand to put once the PostgreSQL lookup has answered.
func (c *keyCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put stores a verified key unless an invalidation or flush happened since begin.
func (c *keyCache) put(epoch uint64, hash []byte, p Principal, validUntil, lastUsed *time.Time) {
	if c.maxEntries <= 0 || !c.live() {
		return
	}
	notAfter := c.now().Add(c.ttl)
	if validUntil != nil && validUntil.Before(notAfter) {
		notAfter = *validUntil
	}
	e := &keyEntry{hash: [sha256.Size]byte(hash), p: p, notAfter: notAfter}
	if lastUsed != nil {
		e.lastUsed = *lastUsed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if el, ok := c.byHash[e.hash]; ok {
		c.remove(el)
	}
	c.byHash[e.hash] = c.lru.PushFront(e)
	for c.lru.Len() > c.maxEntries {
		c.remove(c.lru.Back())
	}
}

// markUsed records that the key's use at t has been queued for writing.
func (c *keyCache) markUsed(hash []byte, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byHash[[sha256.Size]byte(hash)]; ok {
		el.Value.(*keyEntry).lastUsed = t
	}
}

// forget drops the entries of these keys and of every key of these users. Revocations are rare
// and the cache is bounded, so a scan costs less than keeping indexes on every request.
func (c *keyCache) forget(keys, users []uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		e := el.Value.(*keyEntry)
		if slices.Contains(keys, e.p.APIKeyID) || slices.Contains(users, e.p.UserID) {
			c.remove(el)
		}
		el = next
	}
}

// forgetSubjects drops the keys and users a revocation names.
func (c *keyCache) forgetSubjects(s subjects) { c.forget(s.keys, s.users) }

// flush empties the cache (the subscription went down or came back).
func (c *keyCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.lru.Init()
	clear(c.byHash)
}

// len is the number of entries held.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *keyCache) remove(el *list.Element) {
	delete(c.byHash, el.Value.(*keyEntry).hash)
	c.lru.Remove(el)
}
