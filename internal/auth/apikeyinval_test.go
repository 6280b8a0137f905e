package auth

import (
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

// TestRevocationWaitsForEveryInstance: a revocation published by one of three instances
// (three invalidation subscriptions on one Redis namespace) is counted as received by all three
// on every try, and returns only once the others have dropped the key from their caches. On a
// Redis Cluster (the test-redis-cluster pass) this fails without publishCounted: a PUBLISH sent
// to a node that does not hold the subscriptions answers 0, and the revocation returned at once.
func TestRevocationWaitsForEveryInstance(t *testing.T) {
	rdb, prefix := testenv.NewRedis(t), testenv.NewRedisPrefix(t)
	var all []*keyInvalidation
	for range 3 {
		k := newKeyInvalidation(rdb, prefix, slog.New(slog.DiscardHandler))
		k.start(newKeyCache(time.Minute, 10, time.Now, k.live))
		t.Cleanup(k.close)
		all = append(all, k)
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if all[0].live() && all[1].live() && all[2].live() {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the invalidation subscriptions never came up")
		}
	}
	for try := range 12 {
		if n, err := all[0].publishCounted(t.Context(), "probe"); err != nil || n != 3 {
			t.Fatalf("try %d: the revocation channel counted %d subscribers (%v), want 3", try, n, err)
		}
	}
	for try := range 12 {
		key, hash := uuid.New(), testHash(byte(try+1))
		for _, k := range all[1:] {
			k.cache.put(k.cache.begin(), hash, Principal{UserID: uuid.New(), APIKeyID: key}, nil, nil)
		}
		all[0].publish(t.Context(), []uuid.UUID{key}, nil)
		for i, k := range all[1:] {
			if _, ok := k.cache.get(hash); ok {
				t.Fatalf("try %d: instance %d still serves the revoked key after the revocation returned", try, i+1)
			}
		}
	}
}
