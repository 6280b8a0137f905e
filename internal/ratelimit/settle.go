package ratelimit

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// adjust moves a GCRA key's theoretical arrival time (TAT, seconds since 2017-01-01 as
// redis_rate stores it) by delta units: back to give unused units back, never below now (a full
// bucket); forward to charge an overage, unconditionally, so the debt delays the key's next calls.
var adjust = redis.NewScript(`
local key = KEYS[1]
local interval = tonumber(ARGV[1]) / tonumber(ARGV[2])
local delta = tonumber(ARGV[3])
local now = redis.call("TIME")
now = (now[1] - 1483228800) + (now[2] / 1000000)
local tat = tonumber(redis.call("GET", key) or now)
tat = math.max(tat, now) + interval * delta
if tat <= now then
  redis.call("DEL", key)
  return 0
end
redis.call("SET", key, tat, "EX", math.ceil(tat - now))
return 1
`)

// queueAdjust queues the adjust script moving the Redis key (prefix and policy included) by delta units.
func queueAdjust(ctx context.Context, pipe redis.Scripter, key string, p Policy, delta int) *queuedScript {
	return queueScript(ctx, pipe, adjust, []string{key}, p.Period.Seconds(), p.Limit, delta)
}

// Settle replaces a reservation of reserved units (made with AllowN) by the actual cost: the
// difference is given back, or charged when the actual cost was higher. With the key's lease
// live here (leases) the difference is settled with the units it holds instead, when they cover
// a charge.
func (l *Limiter) Settle(ctx context.Context, key string, p Policy, reserved, actual int) error {
	return l.QueueSettle(ctx, l.rdb, key, p, reserved, actual)(ctx)
}

// QueueSettle adds Settle's adjustment to pipe, so that many settlements share a round trip; the
// returned function reads its outcome once pipe has been executed. (With a client instead of a
// pipeline the adjustment is made at once.)
func (l *Limiter) QueueSettle(ctx context.Context, pipe redis.Scripter, key string, p Policy, reserved, actual int) func(context.Context) error {
	delta := actual - reserved
	if delta == 0 {
		return func(context.Context) error { return nil }
	}
	if err := check(key, p, 1); err != nil {
		return func(context.Context) error { return err }
	}
	key = l.prefix + p.Name + ":" + key
	if l.leases.on(p) && l.leases.adjustLocally(key, delta, time.Now()) {
		return func(context.Context) error { return nil }
	}
	call := queueAdjust(ctx, pipe, key, p, delta)
	return func(ctx context.Context) error {
		if err := call.reply(ctx, l.rdb).Err(); err != nil {
			return unavailable("settle "+p.Name, err)
		}
		return nil
	}
}
