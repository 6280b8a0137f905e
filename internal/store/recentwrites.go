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
	return wroteRecently(w.rdb.Exists(ctx, w.key(userID)))
}

// Queue adds the WroteRecently lookup to pipe (a round trip the request makes anyway, such as
// the authenticator's) and returns how to read its answer once pipe has run. Hand the answer to
// the read through WithRecentWrite.
func (w *RedisRecentWrites) Queue(ctx context.Context, pipe redis.Pipeliner, userID uuid.UUID) func() (bool, error) {
	cmd := pipe.Exists(ctx, w.key(userID))
	return func() (bool, error) { return wroteRecently(cmd) }
}

func wroteRecently(cmd *redis.IntCmd) (bool, error) {
	n, err := cmd.Result()
	if err != nil {
		return true, err
	}
	return n > 0, nil
}

type carriedWriteKey struct{}

// carriedWrite is a recent-writes answer looked up ahead of the read (see Queue).
type carriedWrite struct {
	userID uuid.UUID
	answer func() (bool, error)
}

// WithRecentWrite returns ctx carrying answer, the already queued lookup of whether userID wrote
// recently; reads by userID under ctx route on it instead of asking Redis again.
func WithRecentWrite(ctx context.Context, userID uuid.UUID, answer func() (bool, error)) context.Context {
	return context.WithValue(ctx, carriedWriteKey{}, carriedWrite{userID: userID, answer: answer})
}

// CarriedRecentWrite returns the lookup for userID that ctx carries (see WithRecentWrite), if any.
func CarriedRecentWrite(ctx context.Context, userID uuid.UUID) (answer func() (bool, error), ok bool) {
	c, ok := ctx.Value(carriedWriteKey{}).(carriedWrite)
	if !ok || c.userID != userID {
		return nil, false
	}
	return c.answer, true
}

// wroteRecentlyIn answers from ctx when the lookup for userID came with it, else asks w.
func wroteRecentlyIn(ctx context.Context, w RecentWrites, userID uuid.UUID) (bool, error) {
	if answer, ok := CarriedRecentWrite(ctx, userID); ok {
		return answer()
	}
	return w.WroteRecently(ctx, userID)
}
