package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func newBus(t testing.TB, prefix string, opt events.Options) *events.Bus {
	t.Helper()
	opt.Prefix = prefix
	if opt.Retention == 0 {
		opt.Retention = time.Minute
	}
	if opt.MaxEvents == 0 {
		opt.MaxEvents = 100
	}
	b := events.NewBus(testutil.NewRedis(t), opt)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func next(t *testing.T, s *events.Subscription) events.Frame {
	t.Helper()
	select {
	case f := <-s.C():
		return f
	case <-s.Done():
		t.Fatalf("subscription ended: %v", s.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return events.Frame{}
}

func decode(t *testing.T, f events.Frame) events.Event {
	t.Helper()
	var e events.Event
	if err := json.Unmarshal(f.JSON, &e); err != nil {
		t.Fatalf("frame %s: %v", f.JSON, err)
	}
	if e.ID != f.ID || e.Type != f.Type {
		t.Fatalf("frame %s does not match id %s type %s", f.JSON, f.ID, f.Type)
	}
	return e
}

func TestBusAcrossInstances(t *testing.T) {
	t.Parallel()
	prefix := testutil.NewRedisPrefix(t)
	a, b := newBus(t, prefix, events.Options{}), newBus(t, prefix, events.Options{})
	ctx := context.Background()
	user, other := uuid.New(), uuid.New()
	sub, err := b.Subscribe(ctx, user, events.Filter{}, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := a.Publish(ctx, other, events.ProjectCreated, map[string]string{"project_id": "x"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, user, events.SessionCreated, map[string]string{"session_id": "s1"}); err != nil {
		t.Fatal(err)
	}
	e := decode(t, next(t, sub))
	if e.Type != events.SessionCreated || !strings.Contains(string(e.Data), `"s1"`) || e.OccurredAt.IsZero() {
		t.Fatalf("got %+v; want the user's session.created (never the other user's event)", e)
	}
}

func TestBusReplayAndResync(t *testing.T) {
	t.Parallel()
	prefix := testutil.NewRedisPrefix(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	bus := newBus(t, prefix, events.Options{MaxEvents: 10, Retention: time.Minute, Now: clock})
	ctx := context.Background()
	user := uuid.New()
	if got, err := bus.Replay(ctx, user, "0-0", events.Filter{}); err != nil || len(got) != 1 || got[0].Type != events.Resync {
		t.Fatalf("replay of an empty feed from an old id = %v, %v; want resync", got, err)
	}
	var ids []string
	sub, err := bus.Subscribe(ctx, user, events.Filter{}, 64)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := bus.Publish(ctx, user, events.MessageCreated, map[string]any{"session_id": "s", "i": i}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, next(t, sub).ID)
	}
	sub.Close()
	got, err := bus.Replay(ctx, user, ids[1], events.Filter{})
	if err != nil || len(got) != 3 || got[0].ID != ids[2] || got[2].ID != ids[4] {
		t.Fatalf("replay after the 2nd = %v, %v; want the 3rd to 5th", got, err)
	}
	if got, _ := bus.Replay(ctx, user, ids[4], events.Filter{}); len(got) != 0 {
		t.Fatalf("replay after the newest = %v; want nothing", got)
	}
	if got, _ := bus.Replay(ctx, user, ids[1], events.Filter{Types: []string{"project.*"}}); len(got) != 0 {
		t.Fatalf("filtered replay = %v; want nothing", got)
	}
	if _, err := bus.Replay(ctx, user, "nope", events.Filter{}); !errors.Is(err, events.ErrBadEventID) {
		t.Fatalf("bad id: %v", err)
	}
	// Count retention: 200 more events trim the first ones (MAXLEN ~ trims whole nodes).
	for range 200 {
		if err := bus.Publish(ctx, user, events.MessageCreated, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err = bus.Replay(ctx, user, ids[0], events.Filter{})
	if err != nil || len(got) != 1 || got[0].Type != events.Resync {
		t.Fatalf("replay after a trimmed id = %v, %v; want one resync", got, err)
	}
	e := decode(t, got[0])
	if !strings.Contains(string(e.Data), ids[0]) || !events.After(e.ID, ids[4]) {
		t.Fatalf("resync %s: want the stale id in data and the newest id as its id", got[0].JSON)
	}
	// Time retention: an id older than the retention answers resync even though still stored.
	last, _ := bus.Replay(ctx, user, e.ID, events.Filter{})
	if len(last) != 0 {
		t.Fatalf("replay from the resync id = %v; want nothing", last)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if got, _ := bus.Replay(ctx, user, e.ID, events.Filter{}); len(got) != 1 || got[0].Type != events.Resync {
		t.Fatalf("replay from an id older than the retention = %v; want resync", got)
	}
}

func TestBusFilterAndSlowConsumer(t *testing.T) {
	t.Parallel()
	bus := newBus(t, testutil.NewRedisPrefix(t), events.Options{})
	ctx := context.Background()
	user := uuid.New()
	only, err := bus.Subscribe(ctx, user, events.Filter{Types: []string{"generation.*"}, SessionID: "s1"}, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	slow, err := bus.Subscribe(ctx, user, events.Filter{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	_ = bus.Publish(ctx, user, events.GenerationDelta, map[string]any{"session_id": "s2", "delta": "no"})
	_ = bus.Publish(ctx, user, events.MessageCreated, map[string]any{"session_id": "s1"})
	_ = bus.Publish(ctx, user, events.GenerationDelta, map[string]any{"session_id": "s1", "delta": "yes"})
	if f := next(t, only); f.Type != events.GenerationDelta || !strings.Contains(string(f.JSON), "yes") {
		t.Fatalf("filtered subscription got %s", f.JSON)
	}
	select {
	case <-slow.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a subscription that never reads was not ended")
	}
	if !errors.Is(slow.Err(), events.ErrSlowConsumer) || slow.Queued() > 2 {
		t.Fatalf("slow subscription ended with %v holding %d; want ErrSlowConsumer holding ≤ 2", slow.Err(), slow.Queued())
	}
	slow.Close() // closing an ended subscription is harmless
	if err := bus.Publish(ctx, user, events.MessageCreated, strings.Repeat("x", events.MaxFrameBytes)); !errors.Is(err, events.ErrTooLarge) {
		t.Fatalf("oversized event: %v", err)
	}
	if err := bus.Publish(ctx, user, events.MessageCreated, func() {}); err == nil {
		t.Fatal("unencodable data published")
	}
}

type recorder struct {
	mu  sync.Mutex
	got []events.Event
	ch  chan struct{}
}

func (r *recorder) Observe(_ context.Context, _ uuid.UUID, e events.Event) {
	r.mu.Lock()
	r.got = append(r.got, e)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func TestBusObserversAndPresence(t *testing.T) {
	t.Parallel()
	prefix := testutil.NewRedisPrefix(t)
	a, b := newBus(t, prefix, events.Options{}), newBus(t, prefix, events.Options{})
	ctx := context.Background()
	user := uuid.New()
	rec := &recorder{ch: make(chan struct{}, 4)}
	a.AddObserver(rec)
	if err := a.Publish(ctx, user, events.GenerationCompleted, map[string]string{"generation_id": "g"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("observer not called")
	}
	if rec.got[0].Type != events.GenerationCompleted || rec.got[0].ID == "" {
		t.Fatalf("observed %+v", rec.got[0])
	}
	if on, err := b.Online(ctx, user); err != nil || on {
		t.Fatalf("online before any connection = %v, %v", on, err)
	}
	c1, err := a.Connect(ctx, user, 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if on, _ := b.Online(ctx, user); !on {
		t.Fatal("a connection on A is not seen on B")
	}
	c2, err := b.Connect(ctx, user, 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Connect(ctx, user, 2, time.Minute); !errors.Is(err, events.ErrTooManyConnections) {
		t.Fatalf("third connection over a cap of 2: %v", err)
	}
	if err := c1.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c1.Release(ctx)
	_ = c2.Release(ctx)
	if on, _ := a.Online(ctx, user); on {
		t.Fatal("online after every connection ended")
	}
	lapsed, _ := a.Connect(ctx, user, 2, time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	if on, _ := a.Online(ctx, user); on || lapsed == nil {
		t.Fatal("a connection whose instance stopped refreshing still counts as online")
	}
}
