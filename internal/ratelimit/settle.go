package ratelimit

import (
	"context"

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

// Settle replaces a reservation of reserved units (made with AllowN) by the actual cost: the
// difference is given back, or charged when the actual cost was higher.
func (l *Limiter) Settle(ctx context.Context, key string, p Policy, reserved, actual int) error {
	delta := actual - reserved
	if delta == 0 {
		return nil
	}
	if err := check(key, p, 1); err != nil {
		return err
	}
	err := adjust.Run(ctx, l.rdb, []string{l.prefix + p.Name + ":" + key}, p.Period.Seconds(), p.Limit, delta).Err()
	if err != nil {
		return unavailable("settle "+p.Name, err)
	}
	return nil
}
