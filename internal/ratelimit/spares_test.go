package ratelimit_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// spareSemaphores returns n semaphores keeping spares for keep — n instances — on one Redis
// namespace private to t, and a counter of the round trips they make.
func spareSemaphores(t *testing.T, n int, ttl, keep time.Duration) ([]*ratelimit.Semaphore, *tripCount) {
	t.Helper()
	rdb := testutil.NewRedis(t)
	trips := &tripCount{}
	rdb.AddHook(trips)
	prefix := testutil.NewRedisPrefix(t)
	out := make([]*ratelimit.Semaphore, n)
	for i := range out {
		out[i] = ratelimit.NewSemaphore(rdb, prefix, ttl, slog.New(slog.NewTextHandler(io.Discard, nil))).WithSpares(keep)
		t.Cleanup(out[i].Close)
	}
	return out, trips
}

func held(t *testing.T, s *ratelimit.Semaphore, key string) int {
	t.Helper()
	n, err := s.Held(t.Context(), "gen", key)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func acquireSlot(t *testing.T, s *ratelimit.Semaphore, key string, limit int) (func(), bool) {
	t.Helper()
	release, ok, err := s.Acquire(t.Context(), "gen", key, limit)
	if err != nil {
		t.Fatal(err)
	}
	return release, ok
}

// TestSemaphoreSparesServeABusyKeyLocally: under a large cap a released slot stays held as a
// spare, renewed like any lease past its TTL, and the key's next acquisition here takes it — no
// round trip for the release nor for the acquisition; a spare not taken within keep goes back.
func TestSemaphoreSparesServeABusyKeyLocally(t *testing.T) {
	const ttl, keep = 900 * time.Millisecond, 1500 * time.Millisecond
	sems, trips := spareSemaphores(t, 1, ttl, keep)
	s := sems[0]
	release, ok := acquireSlot(t, s, "busy", 100)
	if !ok {
		t.Fatal("refused under an empty cap")
	}
	before := trips.trips.Load()
	release()
	again, ok := acquireSlot(t, s, "busy", 100)
	if n := trips.trips.Load() - before; !ok || n != 0 {
		t.Fatalf("release and acquire again: ok=%v with %d round trips, want a spare and none", ok, n)
	}
	again()
	time.Sleep(ttl + 300*time.Millisecond) // past the lease TTL: the spare was renewed
	if n := held(t, s, "busy"); n != 1 {
		t.Fatalf("%d leases held with one spare kept past the TTL, want 1", n)
	}
	waitFor(t, 2*keep, func() bool { return held(t, s, "busy") == 0 })
}

// TestSemaphoreSmallCapKeepsNoSpares: under the default cap of 8 a release frees its slot in
// Redis at once, as without spares, so a user's spare can never refuse it below its cap
// elsewhere.
func TestSemaphoreSmallCapKeepsNoSpares(t *testing.T) {
	sems, _ := spareSemaphores(t, 1, time.Minute, time.Minute)
	release, ok := acquireSlot(t, sems[0], "small", 8)
	if !ok {
		t.Fatal("refused under an empty cap")
	}
	release()
	if n := held(t, sems[0], "small"); n != 0 {
		t.Fatalf("%d slots held after the only generation ended, want 0", n)
	}
}

// TestSemaphoreSparesCountAgainstTheCap: a spare kept by one instance is a held slot to every
// other, so the cap holds across instances; closing the instance gives it back.
func TestSemaphoreSparesCountAgainstTheCap(t *testing.T) {
	const limit = 32 // one acquisition leaves 31 free: up to 3 spares may be kept
	sems, _ := spareSemaphores(t, 2, time.Minute, time.Minute)
	a, b := sems[0], sems[1]
	release, _ := acquireSlot(t, a, "shared", limit)
	release()
	if n := held(t, a, "shared"); n != 1 {
		t.Fatalf("%d slots held with one spare, want 1", n)
	}
	got := 0
	for range limit {
		if _, ok := acquireSlot(t, b, "shared", limit); ok {
			got++
		}
	}
	if got != limit-1 {
		t.Fatalf("another instance acquired %d slots beside a spare, want %d", got, limit-1)
	}
	a.Close()
	if _, ok := acquireSlot(t, b, "shared", limit); !ok {
		t.Fatal("the spare was not given back on close")
	}
}
