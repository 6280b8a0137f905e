package events_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// chatRequestEvents is what a non-streamed chat request in a session raises on its caller's
// feed: generation.started, one delta with the whole reply, generation.completed.
func chatRequestEvents() []struct {
	typ  events.Type
	data map[string]any
} {
	gen, sess := "chatcmpl-"+uuid.NewString(), uuid.New()
	return []struct {
		typ  events.Type
		data map[string]any
	}{
		{events.GenerationStarted, map[string]any{"generation_id": gen, "session_id": &sess, "model": "claude-sonnet-4-5"}},
		{events.GenerationDelta, map[string]any{"generation_id": gen, "session_id": &sess, "index": 0, "delta": "Hello from the instant upstream."}},
		{events.GenerationCompleted, map[string]any{"generation_id": gen, "session_id": &sess, "finish_reason": "stop", "session_title": "Greetings"}},
	}
}

// BenchmarkBusPublish publishes one chat request's events, one Publish each, for a user with no
// subscriber.
func BenchmarkBusPublish(b *testing.B) {
	bus := newBus(b, testutil.NewRedisPrefix(b), events.Options{MaxEvents: 1000})
	user, evs := uuid.New(), chatRequestEvents()
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range evs {
			if err := bus.Publish(b.Context(), user, e.typ, e.data); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBusPublishAll publishes the same events as BenchmarkBusPublish in one PublishAll, as
// the chat feed does with what waits when it drains.
func BenchmarkBusPublishAll(b *testing.B) {
	bus := newBus(b, testutil.NewRedisPrefix(b), events.Options{MaxEvents: 1000})
	user, evs := uuid.New(), chatRequestEvents()
	b.ReportAllocs()
	for b.Loop() {
		drafts := make([]events.Draft, 0, len(evs))
		for _, e := range evs {
			d, err := events.NewDraft(e.typ, e.data["session_id"].(*uuid.UUID).String(), e.data)
			if err != nil {
				b.Fatal(err)
			}
			drafts = append(drafts, d)
		}
		if err := bus.PublishAll(b.Context(), user, drafts); err != nil {
			b.Fatal(err)
		}
	}
}
