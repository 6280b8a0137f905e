package resume_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/resume"
	"github.com/ccbackend/ccbackend/internal/testutil"
	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

var testConfig = config.Resume{Retention: time.Minute, MaxChunks: 10000, LiveTTL: time.Minute, MaxReaders: 4, Poll: 50 * time.Millisecond}

type env struct {
	rdb    redis.UniversalClient
	prefix string
	store  *resume.Store
}

func newEnv(t testing.TB, cfg config.Resume) env {
	t.Helper()
	rdb := testenv.NewRedis(t)
	prefix := testenv.NewRedisPrefix(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return env{rdb: rdb, prefix: prefix, store: resume.New(rdb, prefix, cfg, resume.NewHub(ctx, rdb), log)}
}

func event(i int) string { return fmt.Sprintf("data: {\"n\":%d}\n\n", i) }

// record numbers and records n events (the last marked) and returns what a client received.
func record(t testing.TB, rec *resume.Recording, from, to int, end bool) string {
	t.Helper()
	var sent strings.Builder
	for i := from; i <= to; i++ {
		sent.WriteString(rec.Numbered(event(i), end && i == to))
	}
	return sent.String()
}

// replay collects a replay after the given id.
func replay(ctx context.Context, s *resume.Store, id uuid.UUID, after int64) (string, error) {
	var got strings.Builder
	err := s.Replay(ctx, id, after, func(events []string) error {
		for _, e := range events {
			got.WriteString(e)
		}
		return nil
	})
	return got.String(), err
}

func TestRecordedEventsReplayAfterAnyID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig)
	id, owner := uuid.New(), uuid.New()
	rec, err := e.store.Begin(t.Context(), id, owner)
	if err != nil {
		t.Fatal(err)
	}
	sent := record(t, rec, 1, 700, true) // more than one read batch
	rec.Close()
	rec.Close() // a second Close does nothing
	e.store.Wait()
	if !strings.HasPrefix(sent, "id: 1\ndata: {\"n\":1}\n\nid: 2\n") {
		t.Fatalf("numbered: %q", sent[:40])
	}
	if err := e.store.Owner(t.Context(), id, owner); err != nil {
		t.Fatal(err)
	}
	for _, other := range []struct{ id, user uuid.UUID }{{id, uuid.New()}, {uuid.New(), owner}} {
		if err := e.store.Owner(t.Context(), other.id, other.user); !errors.Is(err, resume.ErrNotFound) {
			t.Errorf("Owner(%v) = %v, want ErrNotFound", other, err)
		}
	}
	got, err := replay(t.Context(), e.store, id, 0)
	if err != nil || got != sent {
		t.Fatalf("whole replay differs (%v): %d bytes, want %d", err, len(got), len(sent))
	}
	got, err = replay(t.Context(), e.store, id, 695)
	if err != nil || got != sent[strings.Index(sent, "id: 696\n"):] {
		t.Fatalf("replay after 695 = %q, %v", got, err)
	}
	if err := e.store.Check(t.Context(), id, 0); err != nil {
		t.Errorf("Check = %v", err)
	}
	ttl, err := e.rdb.PTTL(t.Context(), e.prefix+"{g:"+id.String()+"}:chunks").Result()
	if err != nil || ttl <= 0 || ttl > testConfig.Retention {
		t.Errorf("the ended recording's TTL is %v (%v), want within the retention", ttl, err)
	}
}

// A replay that caught up waits for the events still to come (nudged through the hub) and ends
// with the last; several replays of one generation share the instance's subscription.
func TestReplayFollowsTheLiveRecording(t *testing.T) {
	t.Parallel()
	e := newEnv(t, config.Resume{Retention: time.Minute, MaxChunks: 100, LiveTTL: time.Minute, MaxReaders: 2, Poll: time.Hour})
	id, owner := uuid.New(), uuid.New()
	rec, err := e.store.Begin(t.Context(), id, owner)
	if err != nil {
		t.Fatal(err)
	}
	sent := record(t, rec, 1, 3, false)
	var wg sync.WaitGroup
	got := make([]string, 3)
	errs := make([]error, 3)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = replay(t.Context(), e.store, id, 1) })
	}
	time.Sleep(100 * time.Millisecond) // let them catch up and wait (the poll is an hour: only nudges wake them)
	sent += record(t, rec, 4, 9, true)
	rec.Close()
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != sent[strings.Index(sent, "id: 2\n"):] {
			t.Errorf("replay %d = %q, %v", i, got[i], errs[i])
		}
	}
}

// A recording whose owner record vanished before its end (its instance died) ends the replay
// with ErrLost once the poll notices; a cancelled replay and a failing writer end it too.
func TestReplayEndsWhenTheRecordingIsLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig)
	id := uuid.New()
	rec, err := e.store.Begin(t.Context(), id, uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	record(t, rec, 1, 2, false)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := replay(ctx, e.store, id, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a replay past its context = %v", err)
	}
	broken := errors.New("client gone")
	if err := e.store.Replay(t.Context(), id, 0, func([]string) error { return broken }); !errors.Is(err, broken) {
		t.Errorf("a failing writer = %v", err)
	}
	if err := e.rdb.Del(t.Context(), e.prefix+"{g:"+id.String()+"}:meta").Err(); err != nil {
		t.Fatal(err)
	}
	got, err := replay(t.Context(), e.store, id, 0)
	if !errors.Is(err, resume.ErrLost) || !strings.HasSuffix(got, event(2)) {
		t.Errorf("replay of a lost recording = %q, %v", got, err)
	}
}

// A resume point before what the bounded recording still holds is refused (Check) and cut
// short (Replay); from within the kept tail it replays.
func TestTrimmedRecording(t *testing.T) {
	t.Parallel()
	e := newEnv(t, config.Resume{Retention: time.Minute, MaxChunks: 10, LiveTTL: time.Minute, MaxReaders: 1, Poll: time.Second})
	id := uuid.New()
	rec, err := e.store.Begin(t.Context(), id, uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	sent := record(t, rec, 1, 400, true) // MAXLEN ~ drops whole nodes of 100 entries
	rec.Close()
	e.store.Wait() // every event is in Redis (and trimmed)
	if err := e.store.Check(t.Context(), id, 0); !errors.Is(err, resume.ErrTrimmed) {
		t.Errorf("Check(0) = %v", err)
	}
	if _, err := replay(t.Context(), e.store, id, 0); !errors.Is(err, resume.ErrTrimmed) {
		t.Errorf("Replay(0) = %v", err)
	}
	if err := e.store.Check(t.Context(), id, 398); err != nil {
		t.Errorf("Check(398) = %v", err)
	}
	if got, err := replay(t.Context(), e.store, id, 398); err != nil || got != sent[strings.Index(sent, "id: 399\n"):] {
		t.Errorf("Replay(398) = %q, %v", got, err)
	}
}

// Redis failing: Begin reports it (the stream goes on unrecorded); a recording whose writes
// fail later removes itself, so it answers ErrNotFound instead of a replay that stops short.
func TestRecordingWhenRedisFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer dead.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	broken := resume.New(dead, e.prefix, testConfig, resume.NewHub(t.Context(), dead), log)
	if _, err := broken.Begin(t.Context(), uuid.New(), uuid.New()); err == nil {
		t.Fatal("Begin on an unreachable Redis succeeded")
	}
	if err := broken.Owner(t.Context(), uuid.New(), uuid.New()); err == nil || errors.Is(err, resume.ErrNotFound) {
		t.Errorf("Owner on an unreachable Redis = %v", err)
	}
	if err := broken.Check(t.Context(), uuid.New(), 0); err == nil {
		t.Error("Check on an unreachable Redis succeeded")
	}

	// A recording that loses Redis after it began: a client closed under it.
	own := testenv.NewRedis(t)
	store := resume.New(own, e.prefix, testConfig, resume.NewHub(t.Context(), e.rdb), log)
	id, owner := uuid.New(), uuid.New()
	rec, err := store.Begin(t.Context(), id, owner)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Owner(t.Context(), id, owner); err != nil {
		t.Fatal(err)
	}
	_ = own.Close()
	record(t, rec, 1, 3, true)
	rec.Close()
	var nilRec *resume.Recording
	if nilRec.Numbered("x", true) != "x" {
		t.Error("a nil recording changed the event")
	}
	nilRec.Close()
}

// Without events the recorder keeps the running generation's keys alive (heartbeat).
func TestHeartbeatKeepsARunningRecording(t *testing.T) {
	t.Parallel()
	cfg := testConfig
	cfg.LiveTTL = 300 * time.Millisecond
	e := newEnv(t, cfg)
	id, owner := uuid.New(), uuid.New()
	rec, err := e.store.Begin(t.Context(), id, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	time.Sleep(3 * cfg.LiveTTL)
	if err := e.store.Owner(t.Context(), id, owner); err != nil {
		t.Errorf("a running recording expired without events: %v", err)
	}
}

// Close does not wait for Redis (a stream's response ends with its last event): with Redis's
// replies held back, the recording is still running when Close returns; Store.Wait waits for
// the end, and the ended recording replays whole and is kept for the retention. (Through a
// proxy to one node: the cluster pass skips it, Makefile.)
func TestCloseDoesNotWaitForRedis(t *testing.T) {
	t.Parallel()
	opts, err := redis.ParseURL(testutil.BaseConfig(t).RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testutil.NewDelayProxy(t, opts.Addr)
	slow := redis.NewClient(&redis.Options{Addr: proxy.Addr, DB: opts.DB, MaxRetries: -1, ReadTimeout: -1})
	t.Cleanup(func() { _ = slow.Close() })
	e := newEnv(t, testConfig)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	store := resume.New(slow, e.prefix, testConfig, resume.NewHub(ctx, slow), slog.New(slog.NewTextHandler(io.Discard, nil)))
	id, owner := uuid.New(), uuid.New()
	rec, err := store.Begin(t.Context(), id, owner)
	if err != nil {
		t.Fatal(err)
	}
	meta := e.prefix + "{g:" + id.String() + "}:meta"
	proxy.SetDelay(time.Second)
	sent := record(t, rec, 1, 5, true)
	rec.Close()
	if state, err := e.rdb.HGet(t.Context(), meta, "state").Result(); err != nil || state != "running" {
		t.Fatalf("right after Close the recording's state is %q (%v), want running: Close waited for Redis", state, err)
	}
	store.Wait()
	if state, err := e.rdb.HGet(t.Context(), meta, "state").Result(); err != nil || state != "ended" {
		t.Fatalf("after Wait the recording's state is %q (%v), want ended", state, err)
	}
	if ttl, err := e.rdb.PTTL(t.Context(), meta).Result(); err != nil || ttl <= 0 || ttl > testConfig.Retention {
		t.Errorf("the ended recording's TTL is %v (%v), want within the retention", ttl, err)
	}
	if got, err := replay(t.Context(), e.store, id, 0); err != nil || got != sent {
		t.Errorf("replay of the ended recording = %q, %v; want %q", got, err, sent)
	}
}
