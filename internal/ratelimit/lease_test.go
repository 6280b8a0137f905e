package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// leasedLimiters returns n limiters leasing policy "default" for ttl — n instances of the service —
// and one that does not (what Redis itself holds), all on one Redis namespace private to t.
// trips counts the round trips the leased limiters make.
func leasedLimiters(t *testing.T, n int, ttl time.Duration) (ls []*ratelimit.Limiter, redisView *ratelimit.Limiter, trips *tripCount) {
	t.Helper()
	rdb, leased := testutil.NewRedis(t), testutil.NewRedis(t)
	trips = &tripCount{}
	leased.AddHook(trips)
	prefix := testutil.NewRedisPrefix(t)
	ls = make([]*ratelimit.Limiter, n)
	for i := range ls {
		ls[i] = ratelimit.New(leased, prefix, ratelimit.WithLeases(ttl, "default"))
		t.Cleanup(ls[i].Close)
	}
	return ls, ratelimit.New(rdb, prefix), trips
}

// inRedis is what Redis says is left of key's budget, spending nothing.
func inRedis(t *testing.T, redisView *ratelimit.Limiter, key string, p ratelimit.Policy) int {
	t.Helper()
	res, err := redisView.Peek(context.Background(), key, p)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Allowed {
		return 0
	}
	return res.Remaining
}

func allow(t *testing.T, l *ratelimit.Limiter, key string, p ratelimit.Policy, n int) ratelimit.Result {
	t.Helper()
	res, err := l.AllowN(context.Background(), key, p, n)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestLeaseServesABusyKeyLocally: a key's first decision is Redis's alone; a second soon after
// also takes units ahead of need, which the next decisions spend without changing Redis, each
// reporting the remainder an unleased limiter would. Once the lease expires its unspent units are
// back in Redis.
func TestLeaseServesABusyKeyLocally(t *testing.T) {
	const ttl = 300 * time.Millisecond
	ls, redisView, _ := leasedLimiters(t, 1, ttl)
	l, p := ls[0], pol("default", 800, time.Hour) // a unit refills every 4.5 s: none during the test
	if res := allow(t, l, "u:busy", p, 1); !res.Allowed || res.Remaining != 799 || inRedis(t, redisView, "u:busy", p) != 799 {
		t.Fatalf("first decision = %+v, Redis holds %d; want 799 left in both", res, inRedis(t, redisView, "u:busy", p))
	}
	res := allow(t, l, "u:busy", p, 1)
	held := 798 - inRedis(t, redisView, "u:busy", p)
	if !res.Allowed || res.Remaining != 798 || held < 1 || held > 799/8 {
		t.Fatalf("second decision = %+v with %d units taken ahead; want 798 left and 1..%d taken ahead", res, held, 799/8)
	}
	before := inRedis(t, redisView, "u:busy", p)
	for i := range held {
		if res := allow(t, l, "u:busy", p, 1); !res.Allowed || res.Remaining != 797-i {
			t.Fatalf("decision %d from the lease = %+v; want %d left", i+3, res, 797-i)
		}
	}
	if now := inRedis(t, redisView, "u:busy", p); now != before {
		t.Fatalf("spending the lease changed Redis from %d to %d", before, now)
	}
	// What is taken ahead and left unspent goes back once the lease expires.
	allow(t, l, "u:busy", p, 1) // a take ahead again
	spent := 2 + held + 1
	if inRedis(t, redisView, "u:busy", p) >= 800-spent {
		t.Fatal("the next take fetched nothing ahead")
	}
	waitFor(t, 3*ttl, func() bool { return inRedis(t, redisView, "u:busy", p) == 800-spent })
}

// TestLeaseOccasionalCallerIsDecidedByRedis: a caller slower than two lease periods never has
// units taken ahead: Redis holds exactly what it spent after each decision.
func TestLeaseOccasionalCallerIsDecidedByRedis(t *testing.T) {
	const ttl = 50 * time.Millisecond
	ls, redisView, _ := leasedLimiters(t, 1, ttl)
	p := pol("default", 800, time.Hour)
	for i := range 4 {
		if res := allow(t, ls[0], "u:calm", p, 1); !res.Allowed || inRedis(t, redisView, "u:calm", p) != 799-i {
			t.Fatalf("decision %d = %+v, Redis holds %d; want %d", i+1, res, inRedis(t, redisView, "u:calm", p), 799-i)
		}
		time.Sleep(2*ttl + 10*time.Millisecond)
	}
}

// TestLeaseKeepsTheLimitAcrossInstances: two instances spending one budget as fast as they can
// admit no more than the limit between them, and once their leases are given back every unit is
// accounted for — admitted, or still in Redis — while most decisions were made without Redis.
func TestLeaseKeepsTheLimitAcrossInstances(t *testing.T) {
	ls, redisView, trips := leasedLimiters(t, 2, time.Second)
	p := pol("default", 400, time.Hour)
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := ls[i%2]
			for refused.Load() < 50 {
				res, err := l.Allow(context.Background(), "u:shared", p)
				switch {
				case err != nil:
					t.Error(err)
					return
				case res.Allowed:
					admitted.Add(1)
				default:
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if admitted.Load() > 400 || admitted.Load() < 350 {
		t.Fatalf("admitted %d of a limit of 400", admitted.Load())
	}
	if n := trips.trips.Load(); n > admitted.Load()/2 {
		t.Fatalf("%d round trips for %d admitted decisions; want most made without Redis", n, admitted.Load())
	}
	for _, l := range ls {
		l.Close()
	}
	if left := inRedis(t, redisView, "u:shared", p); int64(left)+admitted.Load() != 400 {
		t.Fatalf("admitted %d and Redis has %d left: %d units of 400 unaccounted for", admitted.Load(), left, 400-int64(left)-admitted.Load())
	}
}

// TestLeaseSettlesLocally: settling a reservation of a key leased here gives the unused units to
// the lease (Redis unchanged), and an overage the lease covers is paid from it; once the lease is
// closed everything is back in Redis as settled.
func TestLeaseSettlesLocally(t *testing.T) {
	ls, redisView, _ := leasedLimiters(t, 1, time.Minute)
	l, p := ls[0], pol("default", 80000, time.Hour)
	allow(t, l, "u:tok", p, 300)
	allow(t, l, "u:tok", p, 300) // takes ahead
	before := inRedis(t, redisView, "u:tok", p)
	if before >= 80000-600 {
		t.Fatal("nothing was taken ahead")
	}
	ctx := context.Background()
	if err := l.Settle(ctx, "u:tok", p, 300, 20); err != nil { // 280 back
		t.Fatal(err)
	}
	if err := l.Settle(ctx, "u:tok", p, 300, 350); err != nil { // 50 more
		t.Fatal(err)
	}
	if now := inRedis(t, redisView, "u:tok", p); now != before {
		t.Fatalf("settling changed Redis from %d to %d; want it settled in the lease", before, now)
	}
	l.Close()
	if left := inRedis(t, redisView, "u:tok", p); left != 80000-20-350 {
		t.Fatalf("after close Redis has %d left; want %d", left, 80000-20-350)
	}
}

// TestLeaseOnlyForNamedPolicies: a policy the limiter was not told to lease is decided by Redis
// every time, however busy.
func TestLeaseOnlyForNamedPolicies(t *testing.T) {
	ls, redisView, _ := leasedLimiters(t, 1, time.Minute)
	p := pol("auth", 800, time.Hour)
	for i := range 5 {
		allow(t, ls[0], "ip:1", p, 1)
		if left := inRedis(t, redisView, "ip:1", p); left != 799-i {
			t.Fatalf("after %d decisions Redis has %d left; want %d", i+1, left, 799-i)
		}
	}
}

// TestLeaseRefusalIsRedis: at the limit a leased key is refused as an unleased one is, with the
// same wait, and a refused take holds nothing.
func TestLeaseRefusalIsRedis(t *testing.T) {
	ls, redisView, _ := leasedLimiters(t, 1, time.Minute)
	p := pol("default", 16, time.Hour)
	admitted := 0
	for range 20 {
		if allow(t, ls[0], "u:edge", p, 1).Allowed {
			admitted++
		}
	}
	res := allow(t, ls[0], "u:edge", p, 1)
	want := allow(t, redisView, "u:edge", p, 1)
	if admitted != 16 || res.Allowed || want.Allowed || res.RetryAfter <= 0 || res.RetryAfter-want.RetryAfter > 50*time.Millisecond {
		t.Fatalf("admitted %d of 16; refusal %+v, an unleased limiter's %+v", admitted, res, want)
	}
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not so within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
