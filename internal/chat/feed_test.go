package chat

import (
	"strings"
	"sync"
	"testing"

	"github.com/ccbackend/ccbackend/internal/events"
)

// TestFeedQueueKeepsOrderAndMergesBackloggedDeltas: events are published one at a time in the
// order raised; deltas raised while a publish is in flight become one delta with their text in
// order and the next index; nothing is lost, and the wait group drains.
func TestFeedQueueKeepsOrderAndMergesBackloggedDeltas(t *testing.T) {
	var (
		q         feedQueue
		wg        sync.WaitGroup
		mu        sync.Mutex
		published []map[string]any
		types     []events.Type
	)
	release := make(chan struct{})
	first := make(chan struct{})
	publish := func(typ events.Type, data map[string]any) {
		mu.Lock()
		published, types = append(published, data), append(types, typ)
		n := len(published)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release // hold the publisher so that what follows queues up behind it
		}
	}
	q.push(events.GenerationStarted, map[string]any{}, "", publish, &wg)
	<-first
	for _, d := range []string{"Hel", "lo, ", "world"} {
		q.push(events.GenerationDelta, map[string]any{}, d, publish, &wg)
	}
	q.push(events.ToolCallStarted, map[string]any{}, "", publish, &wg)
	q.push(events.GenerationDelta, map[string]any{}, "!", publish, &wg)
	q.push(events.GenerationCompleted, map[string]any{}, "", publish, &wg)
	close(release)
	wg.Wait()

	want := []events.Type{events.GenerationStarted, events.GenerationDelta, events.ToolCallStarted, events.GenerationDelta, events.GenerationCompleted}
	if len(types) != len(want) {
		t.Fatalf("published %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("event %d is %s, want %s (all: %v)", i, types[i], want[i], types)
		}
	}
	if published[1]["delta"] != "Hello, world" || published[1]["index"] != 0 {
		t.Fatalf("merged delta = %v, want index 0 and the three texts in order", published[1])
	}
	if published[3]["delta"] != "!" || published[3]["index"] != 1 {
		t.Fatalf("delta after the tool event = %v, want index 1 (a delta never merges across another event)", published[3])
	}
}

// TestFeedQueueBoundsAMergedDelta: a backlog of deltas larger than mergedDeltaMax is split into
// events no larger than it, whose texts concatenate to everything raised.
func TestFeedQueueBoundsAMergedDelta(t *testing.T) {
	var (
		q    feedQueue
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  []string
		hold = make(chan struct{})
	)
	publish := func(typ events.Type, data map[string]any) {
		if typ != events.GenerationDelta {
			<-hold
			return
		}
		mu.Lock()
		got = append(got, data["delta"].(string))
		mu.Unlock()
	}
	q.push(events.GenerationStarted, map[string]any{}, "", publish, &wg)
	chunk := strings.Repeat("x", 1000)
	var all strings.Builder
	for range 40 { // 40 kB behind the held publish
		q.push(events.GenerationDelta, map[string]any{}, chunk, publish, &wg)
		all.WriteString(chunk)
	}
	close(hold)
	wg.Wait()
	if len(got) < 3 {
		t.Fatalf("40 kB of deltas became %d events; want them split at %d bytes", len(got), mergedDeltaMax)
	}
	for i, d := range got {
		if len(d) > mergedDeltaMax {
			t.Fatalf("delta %d is %d bytes, over %d", i, len(d), mergedDeltaMax)
		}
	}
	if strings.Join(got, "") != all.String() {
		t.Fatal("the merged deltas lost or reordered text")
	}
}
