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
// on every try, and returns only once the others have dropped what it names from their caches:
// the API key, the access token denied alone, every token of the refresh family. On a
// Redis Cluster (the test-redis-cluster pass) this fails without publishCounted: a PUBLISH sent
// to a node that does not hold the subscriptions answers 0, and the revocation returned at once.
func TestRevocationWaitsForEveryInstance(t *testing.T) {
	rdb, prefix := testenv.NewRedis(t), testenv.NewRedisPrefix(t)
	var all []*keyInvalidation
	var keys []*keyCache
	var tokens []*accessCache
	for range 3 {
		k := newKeyInvalidation(rdb, prefix, slog.New(slog.DiscardHandler))
		keys = append(keys, newKeyCache(time.Minute, 10, time.Now, k.live))
		tokens = append(tokens, newAccessCache(time.Minute, 10, time.Now, k.live))
		k.start(keys[len(keys)-1], tokens[len(tokens)-1])
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
		family, other := uuid.New(), uuid.New()
		for i := 1; i < 3; i++ {
			keys[i].put(keys[i].begin(), hash, Principal{UserID: uuid.New(), APIKeyID: key}, nil, nil)
			for _, jti := range []string{"a", "b"} {
				tokens[i].put(tokens[i].begin(), family, jti)
			}
			tokens[i].put(tokens[i].begin(), other, "denied")
			tokens[i].put(tokens[i].begin(), other, "kept")
		}
		all[0].publish(t.Context(), subjects{keys: []uuid.UUID{key}})
		all[0].publish(t.Context(), subjects{families: []uuid.UUID{family}, tokens: []string{"denied"}})
		for i := 1; i < 3; i++ {
			if _, ok := keys[i].get(hash); ok {
				t.Fatalf("try %d: instance %d still serves the revoked key after the revocation returned", try, i)
			}
			if tokens[i].alive(family, "a") || tokens[i].alive(family, "b") || tokens[i].alive(other, "denied") {
				t.Fatalf("try %d: instance %d still serves a revoked access token after the revocation returned", try, i)
			}
			if !tokens[i].alive(other, "kept") {
				t.Fatalf("try %d: instance %d dropped a token the revocation did not name", try, i)
			}
		}
	}
}
