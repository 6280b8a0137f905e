package ratelimit_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

func newSemaphore(t *testing.T) (*ratelimit.Semaphore, redis.UniversalClient, string) {
	t.Helper()
	_, rdb, prefix := newLimiter(t)
	return ratelimit.NewSemaphore(rdb, prefix, ratelimit.DefaultLeaseTTL, slog.New(slog.NewTextHandler(io.Discard, nil))), rdb, prefix
}

func TestSemaphoreCapsAndReleases(t *testing.T) {
	sem, _, _ := newSemaphore(t)
	ctx := t.Context()
	var releases []func()
	for i := range 3 {
		release, ok, err := sem.Acquire(ctx, "gen", "user-1", 3)
		if err != nil || !ok {
			t.Fatalf("acquire %d: ok=%v err=%v", i, ok, err)
		}
		releases = append(releases, release)
	}
	if _, ok, err := sem.Acquire(ctx, "gen", "user-1", 3); err != nil || ok {
		t.Fatalf("fourth acquire: ok=%v err=%v, want refused", ok, err)
	}
	if _, ok, err := sem.Acquire(ctx, "gen", "user-2", 3); err != nil || !ok {
		t.Fatalf("another key: ok=%v err=%v, want admitted", ok, err)
	}
	releases[0]()
	releases[0]() // a second release is harmless and frees nothing more
	if n, err := sem.Held(ctx, "gen", "user-1"); err != nil || n != 2 {
		t.Fatalf("held after one release: %d %v, want 2", n, err)
	}
	if _, ok, err := sem.Acquire(ctx, "gen", "user-1", 3); err != nil || !ok {
		t.Fatalf("after a release: ok=%v err=%v, want admitted", ok, err)
	}
}

// A lease whose holder stopped renewing it (a crashed instance) frees its slot once expired.
func TestSemaphoreExpiredLeaseFreesItsSlot(t *testing.T) {
	sem, rdb, prefix := newSemaphore(t)
	ctx := t.Context()
	key := prefix + "sem:gen:{user-1}"
	if err := rdb.ZAdd(ctx, key, redis.Z{Score: float64(time.Now().Add(-time.Second).UnixMilli()), Member: "crashed"}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := sem.Acquire(ctx, "gen", "user-1", 1); err != nil || !ok {
		t.Fatalf("acquire over an expired lease: ok=%v err=%v", ok, err)
	}
	if ttl, err := rdb.PTTL(ctx, key).Result(); err != nil || ttl <= 0 {
		t.Errorf("the key has no expiry (%v, %v): an abandoned set would stay forever", ttl, err)
	}
}

func TestSemaphoreErrors(t *testing.T) {
	sem, _, _ := newSemaphore(t)
	if _, _, err := sem.Acquire(t.Context(), "gen", "user-1", 0); !errors.Is(err, ratelimit.ErrArgument) {
		t.Errorf("limit 0: %v, want ErrArgument", err)
	}
	unreachable := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = unreachable.Close() })
	down := ratelimit.NewSemaphore(unreachable, "ccbtest:", time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, ok, err := down.Acquire(t.Context(), "gen", "user-1", 1); ok || !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Errorf("unreachable Redis: ok=%v err=%v, want ErrUnavailable", ok, err)
	}
}

// TestSemaphoreQueueSharesAPipeline: an acquisition and a GCRA decision travel in one pipeline,
// and a queued release and settlement in another; the release frees the slot. (The NOSCRIPT
// fallback is not exercised here: SCRIPT FLUSH would hit every user of a shared Redis.)
func TestSemaphoreQueueSharesAPipeline(t *testing.T) {
	sem, _, _ := newSemaphore(t)
	l, _, _ := newLimiter(t)
	ctx := t.Context()
	p := pol("tokens", 100, time.Hour)
	for range 2 { // twice: the release left nothing behind
		pipe := sem.Pipeline()
		budget := l.Queue(ctx, pipe, "u1", p, 10)
		slot := sem.Queue(ctx, pipe, "gen", "u1", 1)
		_, _ = pipe.Exec(ctx)
		if res, err := budget.Result(ctx); err != nil || !res.Allowed {
			t.Fatalf("budget %+v %v", res, err)
		}
		lease, ok, err := slot.Result(ctx)
		if err != nil || !ok {
			t.Fatalf("slot ok=%v %v", ok, err)
		}
		if n, _ := sem.Held(ctx, "gen", "u1"); n != 1 {
			t.Fatalf("%d held, want 1", n)
		}
		release := sem.Pipeline()
		check := lease.QueueRelease(ctx, release)
		settle := l.QueueSettle(ctx, release, "u1", p, 10, 0)
		_, _ = release.Exec(ctx)
		check()
		if err := settle(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := sem.Held(ctx, "gen", "u1"); n != 0 {
			t.Fatalf("%d held after the release", n)
		}
		if res, _ := l.AllowN(ctx, "u1", p, 100); !res.Allowed {
			t.Fatalf("the settlement did not give the 10 back: %+v", res)
		}
		if err := l.Settle(ctx, "u1", p, 100, 0); err != nil {
			t.Fatal(err)
		}
	}
}
