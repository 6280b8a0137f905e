package config

import "time"

// APIKeyCache bounds the in-process cache of verified API keys (revocations reach every
// instance over Redis Pub/Sub; see auth.keyInvalidation).
type APIKeyCache struct {
	// TTL (CCB_API_KEY_CACHE_TTL): how long a verified key is answered from memory, never past
	// its expiry (default 60s, at most 10m; 0 turns the cache off).
	TTL time.Duration
	// Size (CCB_API_KEY_CACHE_SIZE): keys held per instance, least recently used dropped first
	// (default 10000).
	Size int
}

func (r *reader) apiKeyCache() APIKeyCache {
	c := APIKeyCache{
		TTL:  r.nonNegativeDuration("CCB_API_KEY_CACHE_TTL", 60*time.Second),
		Size: r.intRange("CCB_API_KEY_CACHE_SIZE", 10000, 1, 10_000_000),
	}
	if c.TTL > 10*time.Minute {
		r.fail("CCB_API_KEY_CACHE_TTL", "must be at most 10m")
	}
	return c
}
