package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// RedisRecentWrites keeps "userID wrote" for window in Redis (<prefix>{u:<id>}:wrote), so that
// the user's next reads on any instance go to the primary. The window is the replica's maximum
// lag plus one lag check: by then a usable replica has replayed the write.
type RedisRecentWrites struct {
	rdb    redis.UniversalClient
	prefix string
	window time.Duration
}

// NewRedisRecentWrites returns the Redis-backed RecentWrites.
func NewRedisRecentWrites(rdb redis.UniversalClient, prefix string, window time.Duration) *RedisRecentWrites {
	return &RedisRecentWrites{rdb: rdb, prefix: prefix, window: window}
}

func (w *RedisRecentWrites) key(userID uuid.UUID) string {
	return w.prefix + "{u:" + userID.String() + "}:wrote"
}

// Wrote implements RecentWrites.
func (w *RedisRecentWrites) Wrote(ctx context.Context, userID uuid.UUID) error {
	return w.rdb.Set(ctx, w.key(userID), 1, w.window).Err()
}

// WroteRecently implements RecentWrites; when Redis cannot say, the answer is yes (the primary
// is always right, only busier).
func (w *RedisRecentWrites) WroteRecently(ctx context.Context, userID uuid.UUID) (bool, error) {
	n, err := w.rdb.Exists(ctx, w.key(userID)).Result()
	if err != nil {
		return true, err
	}
	return n > 0, nil
}
