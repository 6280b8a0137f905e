package ratelimit

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Semaphore caps how many units of work (chat generations) one key holds at once, across every
// instance. Each holder owns a lease: a member of a sorted set per key whose score is the lease's
// expiry in Redis time. The holder renews its lease while it works and removes it when done; a
// crashed instance stops renewing, so its leases expire and free their slots by themselves.
type Semaphore struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	log    *slog.Logger
}

// DefaultLeaseTTL is how long a lease outlives its last renewal; renewals come every third of it.
const DefaultLeaseTTL = 30 * time.Second

// NewSemaphore returns a semaphore whose keys are prefix + "sem:" + name + ":{" + key + "}" (the
// hash tag keeps each key's script on one Redis Cluster slot).
func NewSemaphore(rdb redis.UniversalClient, prefix string, ttl time.Duration, log *slog.Logger) *Semaphore {
	return &Semaphore{rdb: rdb, prefix: prefix + "sem:", ttl: ttl, log: log}
}

// acquire drops expired leases, then adds the new one if fewer than ARGV[1] are held. Redis
// time decides expiry, so instances with skewed clocks agree.
var acquire = redis.NewScript(`
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call("ZADD", KEYS[1], now + ttl, ARGV[3])
redis.call("PEXPIRE", KEYS[1], ttl)
return 1
`)

// renew moves a held lease's expiry forward; a lease that already expired (and may have been
// taken over) is not resurrected.
var renew = redis.NewScript(`
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[1])
local score = redis.call("ZSCORE", KEYS[1], ARGV[2])
if not score or tonumber(score) <= now then
  return 0
end
redis.call("ZADD", KEYS[1], "XX", now + ttl, ARGV[2])
if redis.call("PTTL", KEYS[1]) < ttl then
  redis.call("PEXPIRE", KEYS[1], ttl)
end
return 1
`)

// Acquire takes one of limit slots of name for key. It returns release (call it exactly when
// the work ends; it is safe to call more than once) and ok=false when every slot is held. The
// lease is renewed on a goroutine until release. Errors are ErrArgument (limit < 1, bad name,
// empty key) or ErrUnavailable.
func (s *Semaphore) Acquire(ctx context.Context, name, key string, limit int) (release func(), ok bool, err error) {
	if err := check(key, Policy{Name: name, Limit: limit, Period: s.ttl}, 1); err != nil {
		return nil, false, err
	}
	k := s.prefix + name + ":{" + key + "}"
	member := uuid.NewString()
	ttl := s.ttl.Milliseconds()
	got, err := acquire.Run(ctx, s.rdb, []string{k}, limit, ttl, member).Int()
	if err != nil {
		return nil, false, unavailable("acquire "+name, err)
	}
	if got == 0 {
		return nil, false, nil
	}
	stop := make(chan struct{})
	bg := context.WithoutCancel(ctx)
	go func() {
		t := time.NewTicker(s.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := renew.Run(bg, s.rdb, []string{k}, ttl, member).Err(); err != nil {
					s.log.Warn("renewing a semaphore lease failed; it expires unless a later renewal succeeds",
						slog.String("semaphore", name), slog.String("error", err.Error()))
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			rctx, cancel := context.WithTimeout(bg, 5*time.Second)
			defer cancel()
			if err := s.rdb.ZRem(rctx, k, member).Err(); err != nil {
				s.log.Warn("releasing a semaphore lease failed; it expires by itself",
					slog.String("semaphore", name), slog.String("error", err.Error()))
			}
		})
	}, true, nil
}

// Held reports how many unexpired leases key holds (for tests and diagnostics).
func (s *Semaphore) Held(ctx context.Context, name, key string) (int, error) {
	k := s.prefix + name + ":{" + key + "}"
	t, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return 0, unavailable("held "+name, err)
	}
	n, err := s.rdb.ZCount(ctx, k, "("+strconv.FormatInt(t.UnixMilli(), 10), "+inf").Result()
	if err != nil {
		return 0, unavailable("held "+name, err)
	}
	return int(n), nil
}
