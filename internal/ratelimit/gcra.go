package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is the GCRA decision that redis_rate's AllowN makes, with the same key layout and
// arithmetic (the theoretical arrival time, TAT, in seconds since 2017-01-01 as a float), so
// Settle and instances still on redis_rate share one budget with it. It is our own copy
// because redis_rate only runs its script on its own round trip: this one can ride in a
// pipeline beside other commands (Queue, QueuePeek).
//
// ARGV: burst, rate, period (s), cost and, optionally, extra: units to take ahead of need beside
// cost, as many of them as fit (leases). Reply: units taken (0: refused; cost, plus what it took
// of extra), remaining, retry_after (s, -1 when admitted), reset_after (s).
var gcra = redis.NewScript(`
local burst, rate, period, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local extra = tonumber(ARGV[5] or "0")
local interval = period / rate
local t = redis.call("TIME")
local now = (t[1] - 1483228800) + (t[2] / 1000000)
local tat = math.max(tonumber(redis.call("GET", KEYS[1]) or now), now)
if extra > 0 then
  local fit = math.floor((now - tat) / interval + burst) - cost
  if fit > 0 then
    local take = cost + math.min(extra, fit)
    if now - (tat + interval * take - interval * burst) >= 0 then
      cost = take
    end
  end
end
local new_tat = tat + interval * cost
local diff = now - (new_tat - interval * burst)
if diff < 0 then
  return {0, 0, tostring(-diff), tostring(tat - now)}
end
local reset_after = new_tat - now
if reset_after > 0 then
  redis.call("SET", KEYS[1], new_tat, "EX", math.ceil(reset_after))
end
return {cost, diff / interval, "-1", tostring(reset_after)}
`)

// Pipeline starts a pipeline on the limiter's Redis, for decisions to share a round trip.
func (l *Limiter) Pipeline() redis.Pipeliner { return l.conn.Pipeline() }

// Pending is a decision queued on a pipeline; Result reads it once the pipeline ran.
type Pending struct {
	l    *Limiter
	call *queuedScript
	p    Policy
	peek bool  // a cost of 0 (QueuePeek): Result says whether one unit is left
	err  error // an argument error: nothing was queued
	// A peek's GET of its key (nil until queued) and the key, for the script when it holds a charge.
	state *redis.StringCmd
	key   string
	// A leased decision: its Redis key (the lease's) and cost, until Result records the answer;
	// decided holds the answer once known here (spent from the lease, or recorded).
	leaseKey string
	cost     int
	ahead    bool // it asked for units ahead of need
	decided  *Result
}

// Queue adds the decision "spend n units of p for key" (as AllowN) to pipe, so that it shares a
// round trip with whatever else pipe carries; call Result once pipe has been executed. (With a
// client instead of a pipeline the decision is made at once.)
func (l *Limiter) Queue(ctx context.Context, pipe redis.Scripter, key string, p Policy, n int) *Pending {
	pd := &Pending{l: l, p: p}
	if pd.err = check(key, p, n); pd.err != nil {
		return pd
	}
	key = l.prefix + p.Name + ":" + key
	extra := 0
	if l.leases.on(p) {
		now := time.Now()
		if res, ok := l.leases.spend(key, n, now); ok {
			pd.decided = &res
			return pd
		}
		pd.leaseKey, pd.cost = key, n
		extra = l.leases.prefetch(l, key, p, n, now)
		pd.ahead = extra > 0
	}
	pd.call = queueScript(ctx, pipe, gcra, []string{key}, p.Limit, p.Limit, p.Period.Seconds(), n, extra)
	return pd
}

// Queued reports whether the decision was made or went on the pipeline; when it did not (an
// argument error, which Result returns), nothing need be sent for it.
func (pd *Pending) Queued() bool { return pd.err == nil }

// Result is the decision's answer (as AllowN's). A script Redis no longer caches (after a
// restart or SCRIPT FLUSH) is sent in full once, on a round trip of its own.
func (pd *Pending) Result(ctx context.Context) (Result, error) {
	none := Result{Policy: pd.p, Limit: pd.p.Limit}
	if pd.err != nil {
		return none, pd.err
	}
	if pd.decided != nil {
		return *pd.decided, nil
	}
	if pd.state != nil && pd.call == nil {
		switch err := pd.state.Err(); {
		case errors.Is(err, redis.Nil): // no charge held: the whole budget, as the script would say
			return Result{Policy: pd.p, Limit: pd.p.Limit, Allowed: true, Remaining: pd.p.Limit}, nil
		case err != nil:
			return none, unavailable("policy "+pd.p.Name, err)
		}
		pd.peekCharged(ctx)
	}
	res, took, err := parseGCRA(pd.call.reply(ctx, pd.l.rdb))
	leased := pd.leaseKey != ""
	if leased && (err != nil || !res.Allowed) {
		pd.l.leases.refused(pd.leaseKey, pd.ahead)
		pd.leaseKey = ""
	}
	if err != nil {
		return none, unavailable("policy "+pd.p.Name, err)
	}
	res.Policy, res.Limit = pd.p, pd.p.Limit
	if leased && res.Allowed {
		res = pd.l.leases.granted(pd.l, pd.leaseKey, pd.p, pd.cost, took, pd.ahead, res, time.Now())
		pd.decided = &res
	}
	if pd.peek {
		res = peekResult(res, pd.p)
	}
	return res, nil
}

// parseGCRA reads the script's reply, and how many units it took.
func parseGCRA(cmd *redis.Cmd) (Result, int, error) {
	vals, err := cmd.Slice()
	if err != nil {
		return Result{}, 0, err
	}
	if len(vals) != 4 {
		return Result{}, 0, redis.Nil
	}
	allowed, _ := vals[0].(int64)
	remaining, _ := vals[1].(int64)
	retry, err := seconds(vals[2])
	if err != nil {
		return Result{}, 0, err
	}
	reset, err := seconds(vals[3])
	if err != nil {
		return Result{}, 0, err
	}
	return Result{Allowed: allowed > 0, Remaining: int(remaining), RetryAfter: max(retry, 0), ResetAfter: max(reset, 0)}, int(allowed), nil
}

// seconds converts a script's float seconds (as a string) to a duration; -1 means none.
func seconds(v any) (time.Duration, error) {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, err
	}
	if f == -1 {
		return -1, nil
	}
	return time.Duration(f * float64(time.Second)), nil
}
