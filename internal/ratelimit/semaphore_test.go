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
