package testenv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/store"
)

// NewRedisPrefix returns a key namespace private to t; its keys are deleted when t ends (on every
// master when the test Redis is a cluster).
func NewRedisPrefix(t testing.TB) string {
	t.Helper()
	prefix := "ccbtest:" + randomSuffix() + ":"
	cfg := testConfig(t)
	t.Cleanup(func() {
		client, err := store.NewRedisClient(cfg.RedisURL, cfg.Redis)
		if err != nil {
			t.Errorf("testenv: %v", err)
			return
		}
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, err := Keys(ctx, client, prefix+"*")
		for _, k := range keys {
			client.Del(ctx, k) // one key per call: keys of several slots cannot share a DEL on a cluster
		}
		if err != nil {
			t.Errorf("testenv: clean redis namespace: %v", err)
		}
	})
	return prefix
}

// NewRedis returns a client of the test Redis (one node, a cluster or through Sentinel, as the
// run's CCB_REDIS_MODE says), closed when t ends. It refuses cross-slot scripts and MULTIs as a
// cluster would, on a single node too (GuardSlots).
func NewRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	cfg := testConfig(t)
	rdb, err := store.NewRedisClient(cfg.RedisURL, cfg.Redis)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	GuardSlots(rdb)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Keys lists the keys matching pattern with SCAN — on every master of a cluster, where one
// node's SCAN (or KEYS) sees only its own slots.
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	var (
		mu  sync.Mutex
		out []string
	)
	scan := func(ctx context.Context, node *redis.Client) error {
		iter := node.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err := c.ForEachMaster(ctx, scan) // concurrently, one goroutine per master
		return out, err
	case *redis.Client:
		return out, scan(ctx, c)
	}
	return nil, fmt.Errorf("testenv: cannot scan a %T", rdb)
}
