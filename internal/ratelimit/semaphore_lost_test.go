package ratelimit_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// Redis lost while a lease is held: renewals and the release fail without stopping the holder
// (each is a warning; the lease expires by itself, so the slot is not lost for good), and
// counting the leases says Redis is unavailable instead of answering 0.
func TestSemaphoreLeaseOutlivesLostRedis(t *testing.T) {
	rdb := testutil.NewRedis(t)
	logs := &testutil.LogRecorder{}
	sem := ratelimit.NewSemaphore(rdb, testutil.NewRedisPrefix(t), 300*time.Millisecond, slog.New(slog.NewJSONHandler(logs, nil)))
	release, ok, err := sem.Acquire(context.Background(), "gen", "user-1", 1)
	if err != nil || !ok {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	_ = rdb.Close() // Redis gone from this instance's point of view

	waitForLog := func(want string) {
		t.Helper()
		for guard := time.Now().Add(30 * time.Second); time.Now().Before(guard); time.Sleep(20 * time.Millisecond) {
			if strings.Contains(strings.Join(logs.Lines(), "\n"), want) {
				return
			}
		}
		t.Fatalf("no %q warning: %v", want, logs.Lines())
	}
	waitForLog("renewing a semaphore lease failed")
	if _, err := sem.Held(context.Background(), "gen", "user-1"); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Errorf("Held without Redis = %v, want ErrUnavailable", err)
	}
	release()
	waitForLog("releasing a semaphore lease failed")
	release() // a second release is a no-op, not a second attempt
	if n := strings.Count(strings.Join(logs.Lines(), "\n"), "releasing a semaphore lease failed"); n != 1 {
		t.Errorf("%d release warnings, want 1", n)
	}
}
