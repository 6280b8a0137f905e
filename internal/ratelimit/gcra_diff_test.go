package ratelimit_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// TestGCRAAnswersAsRedisRate: our GCRA script (which rides in pipelines) decides exactly as
// redis_rate's, whose key layout and arithmetic it keeps so that both share one budget: for a
// random sequence of costs on one key each, every step is admitted or refused alike with the
// same remaining quota, a peek between steps reads the same quota, and the stored theoretical
// arrival times agree.
func TestGCRAAnswersAsRedisRate(t *testing.T) {
	l, rdb, prefix := newLimiter(t)
	ctx := context.Background()
	ref := redis_rate.NewLimiter(rdb)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []ratelimit.Policy{pol("default", 10, time.Hour), pol("tokens", 5000, 24*time.Hour), pol("auth", 3, time.Hour)} {
		ours, theirs := "ours-"+p.Name, prefix+"theirs-"+p.Name
		limit := redis_rate.Limit{Rate: p.Limit, Burst: p.Limit, Period: p.Period}
		// redis_rate puts its fixed "rate:" in front of every key, outside the test's namespace.
		t.Cleanup(func() { rdb.Del(context.Background(), "rate:"+theirs) })
		for step := range 40 {
			n := 1 + rng.IntN(max(1, p.Limit/3))
			got, err := l.AllowN(ctx, ours, p, n)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.AllowN(ctx, theirs, limit, n)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != (want.Allowed > 0) || got.Remaining != want.Remaining {
				t.Fatalf("%s step %d cost %d: ours allowed=%v remaining=%d, redis_rate allowed=%d remaining=%d",
					p.Name, step, n, got.Allowed, got.Remaining, want.Allowed, want.Remaining)
			}
			// A peek (cost 0) reads the same remaining quota as redis_rate's cost-0 call.
			peeked, err := l.Peek(ctx, ours, p)
			if err != nil {
				t.Fatal(err)
			}
			read, err := ref.AllowN(ctx, theirs, limit, 0)
			if err != nil {
				t.Fatal(err)
			}
			if peeked.Allowed != (read.Remaining >= 1) || peeked.Remaining != read.Remaining {
				t.Fatalf("%s step %d: peek allowed=%v remaining=%d, redis_rate's remaining=%d", p.Name, step, peeked.Allowed, peeked.Remaining, read.Remaining)
			}
		}
		oursTAT, err1 := rdb.Get(ctx, prefix+"rl:"+p.Name+":"+ours).Result()
		theirsTAT, err2 := rdb.Get(ctx, "rate:"+theirs).Result()
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: stored TATs: %v %v", p.Name, err1, err2)
		}
		a, _ := strconv.ParseFloat(oursTAT, 64)
		b, _ := strconv.ParseFloat(theirsTAT, 64)
		if d := a - b; d > 1 || d < -1 {
			t.Fatalf("%s: TAT ours %s vs redis_rate %s", p.Name, oursTAT, theirsTAT)
		}
	}
}
