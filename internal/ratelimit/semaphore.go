package ratelimit

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/sharedconn"
)

// Semaphore caps how many units of work (chat generations) one key holds at once, across every
// instance. Each holder owns a lease: a member of a sorted set per key whose score is the lease's
// expiry in Redis time. The holder renews its lease while it works and removes it when done; a
// crashed instance stops renewing, so its leases expire and free their slots by themselves.
type Semaphore struct {
	rdb     redis.UniversalClient
	conn    sharedconn.Conn // what acquisitions are sent on
	prefix  string
	ttl     time.Duration
	log     *slog.Logger
	renewer renewer
	spares  *spares // nil: every release goes to Redis at once (WithSpares)
}

// DefaultLeaseTTL is how long a lease outlives its last renewal; renewals come every third of it.
const DefaultLeaseTTL = 30 * time.Second

// NewSemaphore returns a semaphore whose keys are prefix + "sem:" + name + ":{" + key + "}" (the
// hash tag keeps each key's script on one Redis Cluster slot).
func NewSemaphore(rdb redis.UniversalClient, prefix string, ttl time.Duration, log *slog.Logger) *Semaphore {
	return &Semaphore{rdb: rdb, conn: sharedconn.Of(rdb), prefix: prefix + "sem:", ttl: ttl, log: log}
}

// acquire drops expired leases, then adds the new one if fewer than ARGV[1] are held. Redis
// time decides expiry, so instances with skewed clocks agree. Reply: 0 when every slot is held,
// else 1 + the slots left free.
var acquire = redis.NewScript(`
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local held = redis.call("ZCARD", KEYS[1])
if held >= tonumber(ARGV[1]) then
  return 0
end
redis.call("ZADD", KEYS[1], now + ttl, ARGV[3])
redis.call("PEXPIRE", KEYS[1], ttl)
return tonumber(ARGV[1]) - held
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
// lease is renewed until release (see renewer). Errors are ErrArgument (limit < 1, bad name,
// empty key) or ErrUnavailable.
func (s *Semaphore) Acquire(ctx context.Context, name, key string, limit int) (release func(), ok bool, err error) {
	lease, ok, err := s.Queue(ctx, s.rdb, name, key, limit).Result(ctx)
	if !ok {
		return nil, ok, err
	}
	return func() { lease.Release(context.WithoutCancel(ctx)) }, true, nil
}

// Pipeline starts a pipeline on the semaphore's Redis, for an acquisition to share a round trip.
func (s *Semaphore) Pipeline() redis.Pipeliner { return s.conn.Pipeline() }

// PendingLease is an acquisition queued on a pipeline; Result reads it once the pipeline ran.
type PendingLease struct {
	lease *Lease
	call  *queuedScript // nil: lease is a spare, held already
	err   error         // an argument error: nothing was queued
}

// Queue adds Acquire's attempt to pipe, so that it shares a round trip with whatever else pipe
// carries; call Result once pipe has been executed. (With a client instead of a pipeline the
// attempt is made at once.) A spare slot of the key (WithSpares) is taken instead, queuing nothing.
func (s *Semaphore) Queue(ctx context.Context, pipe redis.Scripter, name, key string, limit int) *PendingLease {
	pl := &PendingLease{}
	if pl.err = check(key, Policy{Name: name, Limit: limit, Period: s.ttl}, 1); pl.err != nil {
		return pl
	}
	redisKey := s.prefix + name + ":{" + key + "}"
	if pl.lease = s.spares.take(redisKey); pl.lease != nil {
		return pl
	}
	pl.lease = &Lease{s: s, name: name, key: redisKey, member: uuid.NewString()}
	pl.call = queueScript(ctx, pipe, acquire, []string{pl.lease.key}, limit, s.ttl.Milliseconds(), pl.lease.member)
	return pl
}

// Result is the attempt's answer (as Acquire's): the lease when a slot was free, renewed until it
// is released.
func (pl *PendingLease) Result(ctx context.Context) (*Lease, bool, error) {
	if pl.err != nil {
		return nil, false, pl.err
	}
	l := pl.lease
	if pl.call == nil {
		return l, true, nil
	}
	got, err := pl.call.reply(ctx, l.s.rdb).Int()
	if err != nil {
		return nil, false, unavailable("acquire "+l.name, err)
	}
	if got == 0 {
		return nil, false, nil
	}
	l.free = got - 1
	l.s.renewer.hold(l)
	return l, true, nil
}

// Lease is one held slot of a Semaphore.
type Lease struct {
	s                 *Semaphore
	name, key, member string
	free              int // slots its acquisition left free: whether its release may keep it as a spare
	once              sync.Once
}

// Release frees the slot on a round trip of its own; it is safe to call more than once.
func (l *Lease) Release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l.QueueRelease(rctx, l.s.rdb)()
}

// QueueRelease stops renewing the lease at once and adds the removal of its slot to pipe, so that
// many releases share a round trip; the returned function checks the removal once pipe has been
// executed (a failure is logged: the lease then expires by itself). Only the first release of a
// lease queues anything, and none when its slot is kept as a spare (WithSpares).
func (l *Lease) QueueRelease(ctx context.Context, pipe redis.Cmdable) func() {
	return l.release(ctx, pipe, true)
}

// queueRemoval is QueueRelease without keeping a spare: the slot goes back to Redis.
func (l *Lease) queueRemoval(ctx context.Context, pipe redis.Cmdable) func() {
	return l.release(ctx, pipe, false)
}

func (l *Lease) release(ctx context.Context, pipe redis.Cmdable, mayKeep bool) func() {
	var cmd *redis.IntCmd
	l.once.Do(func() {
		l.s.renewer.drop(l)
		if !mayKeep || !l.s.spares.park(l.s, l) {
			cmd = pipe.ZRem(ctx, l.key, l.member)
		}
	})
	return func() {
		if cmd != nil && cmd.Err() != nil {
			l.s.log.Warn("releasing a semaphore lease failed; it expires by itself",
				slog.String("semaphore", l.name), slog.String("error", cmd.Err().Error()))
		}
	}
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
