package push_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/push"
)

// The notifier on the real bus: registered as an observer, it reads the bus's presence (a live
// WS/SSE connection's entry) and pushes only while the user has none.
func TestNotifierOnTheBus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	bus := events.NewBus(f.presence.rdb, events.Options{Prefix: f.presence.prefix, Retention: time.Minute, MaxEvents: 100})
	t.Cleanup(func() { _ = bus.Close() })
	n := push.NewNotifier(f.client, f.s.App.Store, bus, push.Settings{Topic: f.apns.Topic, Workers: 1, QueueSize: 8,
		Retries: 1, RetryBase: time.Millisecond, Expiry: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { n.Close(context.Background()) })
	bus.AddObserver(n)
	ctx := context.Background()
	away := f.s.Register(t, "away-bus-"+uuid.NewString()[:8]+"@example.com")
	awayID := uuid.MustParse(away.UserID)
	f.register(t, away, token(7))
	awaySession := f.newSession(t, away, "Elsewhere")

	conn, err := bus.Connect(ctx, f.userID, 0, time.Minute) // f's user has the app open
	if err != nil {
		t.Fatal(err)
	}
	publish := func(user uuid.UUID, session, generation string) {
		t.Helper()
		if err := bus.Publish(ctx, user, events.GenerationCompleted, map[string]string{"session_id": session, "generation_id": generation}); err != nil {
			t.Fatal(err)
		}
	}
	publish(f.userID, f.session.Id.String(), "while-connected")
	publish(awayID, awaySession.Id.String(), "away")
	// One worker handles events in order: once away's push arrived, the connected user's
	// event was handled, without a push.
	got := f.apns.WaitRequests(t, 1)
	if len(got) != 1 || got[0].Token != token(7) || got[0].Header.Get("apns-collapse-id") != "away" {
		t.Fatalf("pushes %v; want only the one to the user without a connection", got)
	}
	// The connection ends (the app went to the background): the next completion is pushed.
	if err := conn.Release(ctx); err != nil {
		t.Fatal(err)
	}
	publish(f.userID, f.session.Id.String(), "after-disconnect")
	got = f.apns.WaitRequests(t, 2)
	if got[1].Token != token(1) || got[1].Header.Get("apns-collapse-id") != "after-disconnect" {
		t.Fatalf("second push %v", got[1])
	}
}
