package ratelimit_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/testutil"
	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

// newLimiter returns a limiter on the test Redis in a key namespace private to t.
func newLimiter(t testing.TB) (*ratelimit.Limiter, redis.UniversalClient, string) {
	t.Helper()
	rdb := testutil.NewRedis(t)
	prefix := testutil.NewRedisPrefix(t)
	return ratelimit.New(rdb, prefix), rdb, prefix
}

func TestAllowNUpToLimit(t *testing.T) {
	type step struct {
		n         int
		allowed   bool
		remaining int
	}
	tests := []struct {
		name   string
		policy ratelimit.Policy
		steps  []step
	}{
		{"one per minute", pol("auth", 1, time.Minute),
			[]step{{1, true, 0}, {1, false, 0}}},
		{"three per minute", pol("default", 3, time.Minute),
			[]step{{1, true, 2}, {1, true, 1}, {1, true, 0}, {1, false, 0}}},
		{"tokens reserved in chunks", pol("tokens", 10, time.Hour),
			[]step{{4, true, 6}, {4, true, 2}, {4, false, 0}, {2, true, 0}, {1, false, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _, _ := newLimiter(t)
			for i, s := range tt.steps {
				res, err := l.AllowN(t.Context(), "user-1", tt.policy, s.n)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if res.Allowed != s.allowed || res.Remaining != s.remaining {
					t.Fatalf("step %d: allowed=%v remaining=%d, want %v %d", i, res.Allowed, res.Remaining, s.allowed, s.remaining)
				}
				if res.Limit != tt.policy.Limit || res.Policy != tt.policy {
					t.Errorf("step %d: limit %d policy %+v, want %+v", i, res.Limit, res.Policy, tt.policy)
				}
				interval := tt.policy.Period / time.Duration(tt.policy.Limit)
				if !s.allowed && (res.RetryAfter <= 0 || res.RetryAfter > time.Duration(s.n)*interval) {
					t.Errorf("step %d: RetryAfter %s, want in (0, %s]", i, res.RetryAfter, time.Duration(s.n)*interval)
				}
				if s.allowed && res.RetryAfter != 0 {
					t.Errorf("step %d: RetryAfter %s on an admitted call", i, res.RetryAfter)
				}
				if res.ResetAfter <= 0 || res.ResetAfter > tt.policy.Period {
					t.Errorf("step %d: ResetAfter %s, want in (0, %s]", i, res.ResetAfter, tt.policy.Period)
				}
			}
		})
	}
}

func TestKeysAndPoliciesAreIndependent(t *testing.T) {
	l, rdb, prefix := newLimiter(t)
	ctx := t.Context()
	def := pol("default", 2, time.Minute)
	for range 3 {
		if _, err := l.Allow(ctx, "ip:192.0.2.1", def); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		key     string
		policy  ratelimit.Policy
		allowed bool
	}{
		{"exhausted key", "ip:192.0.2.1", def, false},
		{"other key", "ip:192.0.2.2", def, true},
		{"same key, other policy", "ip:192.0.2.1", pol("auth", 2, time.Minute), true},
		{"ipv6 key", "ip:2001:db8::1", def, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := l.Allow(ctx, tt.key, tt.policy)
			if err != nil || res.Allowed != tt.allowed {
				t.Fatalf("Allow = %+v, %v; want allowed=%v", res, err, tt.allowed)
			}
			if n, err := rdb.Exists(ctx, prefix+"rl:"+tt.policy.Name+":"+tt.key).Result(); err != nil || n != 1 {
				t.Errorf("key %q not in the namespace: exists=%d err=%v", prefix+"rl:"+tt.policy.Name+":"+tt.key, n, err)
			}
		})
	}
	if keys, err := testenv.Keys(ctx, rdb, "rate:"+prefix+"*"); err != nil || len(keys) != 0 {
		t.Errorf("keys outside the namespace: %v (%v)", keys, err)
	}
}

func TestQuotaRecovers(t *testing.T) {
	l, _, _ := newLimiter(t)
	p := pol("default", 2, time.Second)
	for i, want := range []bool{true, true, false} {
		if res, err := l.Allow(t.Context(), "k", p); err != nil || res.Allowed != want {
			t.Fatalf("call %d: %+v, %v; want allowed=%v", i, res, err, want)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	res, err := l.Allow(t.Context(), "k", p)
	if err != nil || !res.Allowed || res.Remaining != 1 {
		t.Fatalf("after the period: %+v, %v; want allowed with 1 remaining", res, err)
	}
}

func TestConcurrentAllowNeverExceedsLimit(t *testing.T) {
	l, _, _ := newLimiter(t)
	p := pol("default", 7, time.Hour)
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 5 {
				res, err := l.Allow(t.Context(), "shared", p)
				switch {
				case err != nil:
					t.Error(err)
				case res.Allowed:
					admitted.Add(1)
				default:
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if admitted.Load() != int64(p.Limit) || refused.Load() != 100-int64(p.Limit) {
		t.Fatalf("admitted %d refused %d of 100, want %d admitted", admitted.Load(), refused.Load(), p.Limit)
	}
}

func TestRedisUnavailable(t *testing.T) {
	closed := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	_ = closed.Close()
	unreachable := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = unreachable.Close() })
	for name, rdb := range map[string]*redis.Client{"unreachable": unreachable, "closed": closed} {
		t.Run(name, func(t *testing.T) {
			res, err := ratelimit.New(rdb, "ccbtest:").Allow(t.Context(), "k", pol("auth", 5, time.Minute))
			if err == nil || res.Allowed {
				t.Fatalf("Allow = %+v, %v; want an error and not allowed", res, err)
			}
			if apperr.KindOf(err) != apperr.Unavailable || !errors.Is(err, ratelimit.ErrUnavailable) || errors.Is(err, ratelimit.ErrArgument) {
				t.Errorf("kind %v, want Unavailable and ErrUnavailable only: %v", apperr.KindOf(err), err)
			}
			if err := ratelimit.New(rdb, "ccbtest:").Settle(t.Context(), "k", pol("auth", 5, time.Minute), 3, 1); !errors.Is(err, ratelimit.ErrUnavailable) {
				t.Errorf("Settle = %v, want ErrUnavailable", err)
			}
			if res, err := ratelimit.New(rdb, "ccbtest:").Peek(t.Context(), "k", pol("auth", 5, time.Minute)); !errors.Is(err, ratelimit.ErrUnavailable) || res.Allowed {
				t.Errorf("Peek = %+v, %v; want ErrUnavailable and not allowed", res, err)
			}
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	l, _, _ := newLimiter(t)
	ok := pol("default", 5, time.Minute)
	tests := []struct {
		name   string
		key    string
		policy ratelimit.Policy
		n      int
	}{
		{"empty key", "", ok, 1},
		{"zero cost", "k", ok, 0},
		{"negative cost", "k", ok, -3},
		{"cost above limit", "k", ok, 6},
		{"zero limit", "k", pol("default", 0, time.Minute), 1},
		{"zero period", "k", pol("default", 5, 0), 1},
		{"empty name", "k", pol("", 5, time.Minute), 1},
		{"name with colon", "k", pol("a:b", 5, time.Minute), 1},
		{"name needing quotes", "k", pol(`a"b`, 5, time.Minute), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := l.AllowN(t.Context(), tt.key, tt.policy, tt.n)
			if err == nil || res.Allowed {
				t.Fatalf("AllowN = %+v, %v; want an error", res, err)
			}
			// An argument error is no outage: a caller that fails open on outages must not admit it.
			if !errors.Is(err, ratelimit.ErrArgument) || errors.Is(err, ratelimit.ErrUnavailable) || apperr.KindOf(err) == apperr.Unavailable {
				t.Errorf("AllowN error %v: want ErrArgument, not an outage", err)
			}
		})
	}
}

func pol(name string, limit int, period time.Duration) ratelimit.Policy {
	return ratelimit.Policy{Name: name, Limit: limit, Period: period}
}

func BenchmarkAllow(b *testing.B) {
	l, _, _ := newLimiter(b)
	p := pol("default", 1<<30, time.Hour)
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Allow(b.Context(), "bench", p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Allow(b.Context(), "bench", p); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func TestSettleGivesBackAndCharges(t *testing.T) {
	l, _, _ := newLimiter(t)
	p := ratelimit.Policy{Name: "tokens", Limit: 1000, Period: time.Hour}
	ctx := t.Context()
	if res, err := l.AllowN(ctx, "u1", p, 900); err != nil || !res.Allowed {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	// Only 100 were used: 800 come back, so 800 more fit but not 1000.
	if err := l.Settle(ctx, "u1", p, 900, 100); err != nil {
		t.Fatal(err)
	}
	if res, _ := l.AllowN(ctx, "u1", p, 850); !res.Allowed {
		t.Errorf("after a refund 850 more should fit (100 used of 1000): %+v", res)
	}
	// An overage is charged even though it exceeds what is left.
	if err := l.Settle(ctx, "u1", p, 10, 500); err != nil {
		t.Fatal(err)
	}
	if res, _ := l.AllowN(ctx, "u1", p, 1); res.Allowed {
		t.Errorf("after the overage the key should be in debt: %+v", res)
	}
	// Giving back more than was ever taken leaves a full bucket, not credit.
	if err := l.Settle(ctx, "fresh", p, 5000, 0); err != nil {
		t.Fatal(err)
	}
	if res, _ := l.AllowN(ctx, "fresh", p, 1000); !res.Allowed || res.Remaining != 0 {
		t.Errorf("refund created credit: %+v", res)
	}
}

func TestPeekSpendsNothing(t *testing.T) {
	l, _, _ := newLimiter(t)
	ctx := t.Context()
	p := pol("auth-failures", 2, time.Minute)
	for range 3 {
		if res, err := l.Peek(ctx, "ip:192.0.2.9", p); err != nil || !res.Allowed || res.Remaining != 2 {
			t.Fatalf("peek on a fresh key = %+v, %v; want allowed with 2 remaining", res, err)
		}
	}
	for range 2 {
		if res, err := l.Allow(ctx, "ip:192.0.2.9", p); err != nil || !res.Allowed {
			t.Fatalf("allow = %+v, %v", res, err)
		}
	}
	res, err := l.Peek(ctx, "ip:192.0.2.9", p)
	if err != nil || res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > 30*time.Second {
		t.Fatalf("peek on a spent key = %+v, %v; want refused with RetryAfter in (0, 30s]", res, err)
	}
}

// TestQueuedPeekSharesAPipeline: a peek queued beside a decision on another key reads its key's
// state in the same round trip without spending it and refuses once the key is spent; an
// argument error queues nothing.
func TestQueuedPeekSharesAPipeline(t *testing.T) {
	l, rdb, _ := newLimiter(t)
	ctx := t.Context()
	failures, requests := pol("auth-failures", 2, time.Minute), pol("default", 100, time.Minute)
	peekBeside := func() ratelimit.Result {
		t.Helper()
		pipe := l.Pipeline()
		peek := l.QueuePeek(ctx, pipe, "ip:192.0.2.7", failures)
		decision := l.Queue(ctx, pipe, "u:1", requests, 1)
		_, _ = pipe.Exec(ctx) // a first run may answer NOSCRIPT: Result sends the script in full

		if res, err := decision.Result(ctx); err != nil || !res.Allowed {
			t.Fatalf("decision beside the peek = %+v, %v", res, err)
		}
		res, err := peek.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for range 2 {
		if res := peekBeside(); !res.Allowed || res.Remaining != 2 {
			t.Fatalf("peek of a fresh key = %+v; want allowed, 2 remaining", res)
		}
	}
	for range 2 {
		if res, err := l.Allow(ctx, "ip:192.0.2.7", failures); err != nil || !res.Allowed {
			t.Fatalf("allow = %+v, %v", res, err)
		}
	}
	if res := peekBeside(); res.Allowed || res.Remaining != 0 || res.RetryAfter <= 0 || res.RetryAfter > 30*time.Second {
		t.Fatalf("peek of a spent key = %+v; want refused with RetryAfter in (0, 30s]", res)
	}
	if pd := l.QueuePeek(ctx, rdb, "", failures); pd.Queued() {
		t.Error("a peek with an empty key was queued")
	}
}

// TestPeekOfAnUnchargedKeyIsAGet: a queued peek sends a GET of its key, not the script; a key
// holding no charge is answered from it (the whole budget), and a key holding one is decided by
// the script afterwards with the answer the script gives: the quota left, not spent by peeking.
func TestPeekOfAnUnchargedKeyIsAGet(t *testing.T) {
	l, _, _ := newLimiter(t)
	ctx := t.Context()
	p := pol("auth-failures", 3, time.Minute)
	peek := func() ratelimit.Result {
		t.Helper()
		pipe := l.Pipeline()
		pd := l.QueuePeek(ctx, pipe, "ip:192.0.2.44", p)
		if cmds := pipe.Cmds(); len(cmds) != 1 || cmds[0].Name() != "get" {
			t.Fatalf("queued peek sends %v, want one GET", cmds)
		}
		_, _ = pipe.Exec(ctx)
		res, err := pd.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := peek(); !res.Allowed || res.Remaining != 3 || res.RetryAfter != 0 || res.Limit != 3 || res.Policy.Name != p.Name {
		t.Fatalf("peek of an uncharged key = %+v; want allowed with the whole budget of 3", res)
	}
	if res, err := l.Allow(ctx, "ip:192.0.2.44", p); err != nil || !res.Allowed {
		t.Fatalf("allow = %+v, %v", res, err)
	}
	for range 2 {
		if res := peek(); !res.Allowed || res.Remaining != 2 {
			t.Fatalf("peek of a key charged once = %+v; want allowed with 2 remaining", res)
		}
	}
}
