package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// OpenRedis connects to redisURL and checks that the server answers.
func OpenRedis(ctx context.Context, redisURL string) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, errors.New("store: REDIS_URL cannot be parsed")
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("store: redis ping %s: %w", opts.Addr, err)
	}
	return client, nil
}

// RedisPoolSize is the configured pool size of a single-node or cluster client (per node for a
// cluster); 0 for other kinds, which the payload shows as unknown.
func RedisPoolSize(rdb redis.UniversalClient) int {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().PoolSize
	case *redis.ClusterClient:
		return c.Options().PoolSize
	}
	return 0
}
