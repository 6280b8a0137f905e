package auth

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/store"
)

// DefaultAPIKeyCacheTTL and DefaultAPIKeyCacheSize are the verified-key cache's defaults.
const (
	DefaultAPIKeyCacheTTL  = 60 * time.Second
	DefaultAPIKeyCacheSize = 10_000
)

// verifiedKeys is what fromAPIKey needs beyond PostgreSQL: the cache of verified keys, its
// cross-instance invalidation (shared with the access-token cache; its owner starts and closes
// it) and the deferred last-use writes.
type verifiedKeys struct {
	cache   *keyCache
	inval   *keyInvalidation
	touches *keyTouches
}

func newVerifiedKeys(st *store.Store, inval *keyInvalidation, now func() time.Time, set Settings, log *slog.Logger) *verifiedKeys {
	v := &verifiedKeys{inval: inval, touches: newKeyTouches(st, log)}
	if set.APIKeyCacheTTL <= 0 || set.APIKeyCacheSize <= 0 {
		v.cache = newKeyCache(0, 0, now, func() bool { return false })
		return v
	}
	v.cache = newKeyCache(set.APIKeyCacheTTL, set.APIKeyCacheSize, now, inval.live)
	return v
}

// lookup returns the principal for a hash the cache may answer.
func (v *verifiedKeys) lookup(hash []byte, now time.Time) (Principal, bool) {
	e, ok := v.cache.get(hash)
	if !ok {
		return Principal{}, false
	}
	v.used(hash, e.p.APIKeyID, e.lastUsed, now)
	return e.p, true
}

// store caches a key PostgreSQL just verified (lookup began in epoch).
func (v *verifiedKeys) store(epoch uint64, hash []byte, p Principal, key db.FindAPIKeyRow, now time.Time) {
	validUntil := key.ExpiresAt
	if !key.Current && key.PreviousValidUntil != nil && (validUntil == nil || key.PreviousValidUntil.Before(*validUntil)) {
		validUntil = key.PreviousValidUntil
	}
	v.cache.put(epoch, hash, p, validUntil, key.LastUsedAt)
	var last time.Time
	if key.LastUsedAt != nil {
		last = *key.LastUsedAt
	}
	v.used(hash, key.ID, last, now)
}

// used queues a last-use write when the recorded one is older than lastUsedResolution.
func (v *verifiedKeys) used(hash []byte, id uuid.UUID, last, now time.Time) {
	if !last.IsZero() && now.Sub(last) <= lastUsedResolution {
		return
	}
	if v.touches.add(id, now) {
		v.cache.markUsed(hash, now)
	}
}

// revoked drops keys (and every key of users) on every instance; call after the commit.
func (v *verifiedKeys) revoked(ctx context.Context, keys, users []uuid.UUID) {
	v.inval.publish(ctx, subjects{keys: keys, users: users})
}

func (v *verifiedKeys) close() { v.touches.close() }
