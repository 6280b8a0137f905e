package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewRedisPrefix returns a key namespace private to t; its keys are deleted when t ends.
func NewRedisPrefix(t testing.TB) string {
	t.Helper()
	prefix := "ccbtest:" + randomSuffix() + ":"
	redisURL := redisURL(t)
	t.Cleanup(func() {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			t.Errorf("testenv: REDIS_URL: %v", err)
			return
		}
		client := redis.NewClient(opts)
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("testenv: clean redis namespace: %v", err)
		}
	})
	return prefix
}

// NewRedis returns a client of the test Redis, closed when t ends.
func NewRedis(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatalf("testenv: REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
