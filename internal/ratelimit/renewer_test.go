package ratelimit_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// tripCount counts the Redis round trips (a command or a pipeline) and the commands a client sends.
type tripCount struct{ trips, cmds atomic.Int64 }

func (c *tripCount) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *tripCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.trips.Add(1)
		c.cmds.Add(1)
		return next(ctx, cmd)
	}
}
func (c *tripCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.trips.Add(1)
		c.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestSemaphoreRenewsItsLeasesTogether: every lease an instance holds outlives its TTL while
// held, renewed by one round trip per renewal period for all of them (not one each), and
// renewals stop once every lease is released.
func TestSemaphoreRenewsItsLeasesTogether(t *testing.T) {
	_, rdb, prefix := newLimiter(t)
	const ttl, leases = 1500 * time.Millisecond, 40
	sem := ratelimit.NewSemaphore(rdb, prefix, ttl, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := t.Context()
	var releases []func()
	for i := range leases {
		release, ok, err := sem.Acquire(ctx, "gen", "user-"+strconv.Itoa(i%4), leases)
		if err != nil || !ok {
			t.Fatalf("acquire %d: ok=%v err=%v", i, ok, err)
		}
		releases = append(releases, release)
	}
	count := &tripCount{}
	rdb.AddHook(count)
	wait := 7 * ttl / 3 // seven renewal periods: the leases would have expired twice over
	time.Sleep(wait)
	held := 0
	for u := range 4 {
		n, err := sem.Held(ctx, "gen", "user-"+strconv.Itoa(u))
		if err != nil {
			t.Fatal(err)
		}
		held += n
	}
	trips, cmds := count.trips.Load()-8, count.cmds.Load()-8 // less Held's own TIME and ZCOUNT, 4 times
	if held != leases {
		t.Errorf("%d leases held %v on, want %d: renewals did not keep them", held, wait, leases)
	}
	// One more period may have begun; a Redis without the script (flushed) costs two more trips,
	// and the client's new connection its handshake's two. A trip per lease would be 280.
	if periods := int64(wait / (ttl / 3)); trips < 1 || trips > periods+5 || cmds < leases*(periods-1) {
		t.Errorf("%d renewal round trips carrying %d commands in %d periods; want one per period for all %d leases", trips, cmds, periods, leases)
	}
	for _, release := range releases {
		release()
	}
	time.Sleep(ttl / 3) // the renewer sees nothing held at its next tick and stops
	before := count.trips.Load()
	time.Sleep(ttl)
	if after := count.trips.Load(); after != before {
		t.Errorf("%d round trips after every lease was released, want none", after-before)
	}
}
