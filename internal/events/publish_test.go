package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// commandCounter counts the commands a Redis client sends, pipelined or not.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

func draft(t *testing.T, typ events.Type, session string, data any) events.Draft {
	t.Helper()
	d, err := events.NewDraft(typ, session, data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBusPublishAllKeepsOrderAndContent: a batch goes out in one command; its events reach a
// live subscriber, the replay and the observers in the order given, each with its own type,
// session, data and the publishing time; an oversized event in the middle is refused with
// ErrTooLarge while the ones around it are still published.
func TestBusPublishAllKeepsOrderAndContent(t *testing.T) {
	t.Parallel()
	at := time.Now().UTC().Truncate(time.Second).Add(123456789) // every digit of the nanoseconds shown
	rdb := testutil.NewRedis(t)
	bus := events.NewBus(rdb, events.Options{Prefix: testutil.NewRedisPrefix(t), Retention: time.Minute, MaxEvents: 100,
		Now: func() time.Time { return at }})
	t.Cleanup(func() { _ = bus.Close() })
	ctx := context.Background()
	user := uuid.New()
	rec := &recorder{ch: make(chan struct{}, 8)}
	bus.AddObserver(rec)
	sub, err := bus.Subscribe(ctx, user, events.Filter{}, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	want := []struct {
		typ     events.Type
		session string
		data    map[string]any
	}{
		{events.GenerationStarted, "s1", map[string]any{"generation_id": "g", "session_id": "s1", "model": "m"}},
		{events.GenerationDelta, "s1", map[string]any{"generation_id": "g", "session_id": "s1", "index": 0.0, "delta": "a \"quoted\"\n<text>"}},
		{events.GenerationCompleted, "", map[string]any{"generation_id": "g", "session_id": nil, "finish_reason": "stop"}},
	}
	batch := []events.Draft{draft(t, want[0].typ, want[0].session, want[0].data), draft(t, want[1].typ, want[1].session, want[1].data),
		draft(t, events.MessageCreated, "s1", map[string]string{"x": strings.Repeat("x", events.MaxFrameBytes)}),
		draft(t, want[2].typ, want[2].session, want[2].data)}
	// One event of the same user's first, drained: the pool has a connection and the Redis node
	// holding the user's stream the script from here on (under Redis Cluster another user's
	// stream may live on a node that has never run it).
	if err := bus.Publish(ctx, user, events.ProjectCreated, map[string]string{"project_id": "p"}); err != nil {
		t.Fatal(err)
	}
	if f := next(t, sub); f.Type != events.ProjectCreated {
		t.Fatalf("first event = %s; want the warm-up %s", f.JSON, events.ProjectCreated)
	}
	<-rec.ch
	rec.mu.Lock()
	rec.got = nil
	rec.mu.Unlock()
	count := &commandCounter{}
	rdb.AddHook(count)
	if err := bus.PublishAll(ctx, user, batch); !errors.Is(err, events.ErrTooLarge) {
		t.Fatalf("a batch with an oversized event: %v; want ErrTooLarge", err)
	}
	if n := count.n.Load(); n != 1 {
		t.Fatalf("the batch took %d Redis commands; want 1", n)
	}
	var live []events.Frame
	for range want {
		live = append(live, next(t, sub))
	}
	// A client that saw the first event resumes from it (an id before the stream's first means
	// "trimmed": resync).
	replayed, err := bus.Replay(ctx, user, live[0].ID, events.Filter{})
	if err != nil || len(replayed) != len(want)-1 {
		t.Fatalf("replay = %d frames, %v; want %d", len(replayed), err, len(want)-1)
	}
	replayed = append([]events.Frame{live[0]}, replayed...)
	for i, w := range want {
		f := live[i]
		e := decode(t, f)
		var data map[string]any
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		if f.Type != w.typ || f.SessionID != w.session || !e.OccurredAt.Equal(at) || !reflect.DeepEqual(data, w.data) {
			t.Fatalf("event %d = %s (session %q); want %s in session %q, data %v, at %s", i, f.JSON, f.SessionID, w.typ, w.session, w.data, at)
		}
		if i > 0 && !events.After(f.ID, live[i-1].ID) {
			t.Fatalf("event %d has id %s, not after %s", i, f.ID, live[i-1].ID)
		}
		if r := replayed[i]; r.ID != f.ID || r.SessionID != f.SessionID || string(r.JSON) != string(f.JSON) {
			t.Fatalf("replayed event %d = %s; want it as delivered live: %s", i, r.JSON, f.JSON)
		}
	}
	for range want {
		select {
		case <-rec.ch:
		case <-time.After(10 * time.Second):
			t.Fatal("observer not called for every event")
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, o := range rec.got {
		if o.ID != live[i].ID || o.Type != want[i].typ {
			t.Fatalf("observed %d: %s %s; want %s %s", i, o.ID, o.Type, live[i].ID, want[i].typ)
		}
	}
}

// TestBusPublishAllOfNothingSendsNothing: a batch of only refused events is no Redis command.
func TestBusPublishAllOfNothingSendsNothing(t *testing.T) {
	t.Parallel()
	rdb := testutil.NewRedis(t)
	bus := events.NewBus(rdb, events.Options{Prefix: testutil.NewRedisPrefix(t), Retention: time.Minute, MaxEvents: 10})
	t.Cleanup(func() { _ = bus.Close() })
	count := &commandCounter{}
	rdb.AddHook(count)
	big := draft(t, events.MessageCreated, "", map[string]string{"x": strings.Repeat("x", events.MaxFrameBytes)})
	if err := bus.PublishAll(context.Background(), uuid.New(), []events.Draft{big}); !errors.Is(err, events.ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if err := bus.PublishAll(context.Background(), uuid.New(), nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	if n := count.n.Load(); n != 0 {
		t.Fatalf("%d Redis commands for nothing to publish", n)
	}
}
