package chat

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
)

// TestFeedQueueKeepsOrderAndMergesBackloggedDeltas: events are published in the order raised;
// what is raised while a publish is in flight goes out in one batch after it; deltas raised
// back to back there become one delta with their text in order and the next index; nothing is
// lost, and the wait group drains.
func TestFeedQueueKeepsOrderAndMergesBackloggedDeltas(t *testing.T) {
	var (
		q         feedQueue
		wg        sync.WaitGroup
		mu        sync.Mutex
		published []feedItem
		batches   int
	)
	release := make(chan struct{})
	first := make(chan struct{})
	publish := func(batch []feedItem) {
		mu.Lock()
		published = append(published, batch...)
		batches++
		n := batches
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release // hold the publisher so that what follows queues up behind it
		}
	}
	ref := feedRef{GenerationID: "g"}
	q.push(events.GenerationStarted, startedData{feedRef: ref}, publish, &wg)
	<-first
	for _, d := range []string{"Hel", "lo, ", "world"} {
		q.pushDelta(ref, d, publish, &wg)
	}
	q.push(events.ToolCallStarted, toolData{feedRef: ref}, publish, &wg)
	q.pushDelta(ref, "!", publish, &wg)
	q.push(events.GenerationCompleted, endData{feedRef: ref}, publish, &wg)
	close(release)
	wg.Wait()

	want := []events.Type{events.GenerationStarted, events.GenerationDelta, events.ToolCallStarted, events.GenerationDelta, events.GenerationCompleted}
	if len(published) != len(want) {
		t.Fatalf("published %v, want %v", published, want)
	}
	for i := range want {
		if published[i].typ != want[i] {
			t.Fatalf("event %d is %s, want %s (all: %v)", i, published[i].typ, want[i], published)
		}
	}
	if batches != 2 {
		t.Fatalf("%d publishes; want 2: the first event, then the backlog behind it in one", batches)
	}
	if d := published[1].data.(*deltaData); d.Delta != "Hello, world" || d.Index != 0 {
		t.Fatalf("merged delta = %+v, want index 0 and the three texts in order", d)
	}
	if d := published[3].data.(*deltaData); d.Delta != "!" || d.Index != 1 {
		t.Fatalf("delta after the tool event = %+v, want index 1 (a delta never merges across another event)", d)
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
	publish := func(batch []feedItem) {
		for _, item := range batch {
			if item.typ != events.GenerationDelta {
				<-hold
				continue
			}
			mu.Lock()
			got = append(got, item.data.(*deltaData).Delta)
			mu.Unlock()
		}
	}
	ref := feedRef{GenerationID: "g"}
	q.push(events.GenerationStarted, startedData{feedRef: ref}, publish, &wg)
	chunk := strings.Repeat("x", 1000)
	var all strings.Builder
	for range 40 { // 40 kB behind the held publish
		q.pushDelta(ref, chunk, publish, &wg)
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

// TestFeedQueueBoundsABatch: a backlog longer than feedBatchMax goes out in batches of at most
// feedBatchMax events, in order.
func TestFeedQueueBoundsABatch(t *testing.T) {
	var (
		q     feedQueue
		wg    sync.WaitGroup
		mu    sync.Mutex
		sizes []int
		got   []string
		hold  = make(chan struct{})
	)
	publish := func(batch []feedItem) {
		if batch[0].typ == events.GenerationStarted {
			<-hold
		}
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(batch))
		for _, item := range batch {
			if d, ok := item.data.(toolData); ok {
				got = append(got, d.ToolCallID)
			}
		}
	}
	ref := feedRef{GenerationID: "g"}
	q.push(events.GenerationStarted, startedData{feedRef: ref}, publish, &wg)
	var want []string
	for i := range 2*feedBatchMax + 1 {
		id := strings.Repeat("t", i+1)
		want = append(want, id)
		q.push(events.ToolCallStarted, toolData{feedRef: ref, ToolCallID: id}, publish, &wg)
	}
	close(hold)
	wg.Wait()
	for i, n := range sizes {
		if n > feedBatchMax {
			t.Fatalf("batch %d has %d events, over %d (all: %v)", i, n, feedBatchMax, sizes)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tool events out of order or lost: %d published of %d", len(got), len(want))
	}
}

// TestFeedDataAsSpecified: each event's data encodes to the members the spec lists for its type
// (api/openapi.yaml, Event), with the values the map it replaced carried: session_id null
// without a session, index 0 and is_error false present, session_title null when untitled and
// absent when unknown, error_code only on a failure.
func TestFeedDataAsSpecified(t *testing.T) {
	sess := uuid.MustParse("0b7e7d3e-7a39-4c43-9a52-3c3e0d2e9f10")
	title := "Greetings"
	var untitled *string
	isError := false
	withSession, without := feedRef{GenerationID: "g", SessionID: &sess}, feedRef{GenerationID: "g"}
	for _, tc := range []struct {
		name string
		data any
		want map[string]any
	}{
		{"started", startedData{feedRef: withSession, Model: "m"},
			map[string]any{"generation_id": "g", "session_id": sess.String(), "model": "m"}},
		{"delta", &deltaData{feedRef: without, Index: 0, Delta: "hi"},
			map[string]any{"generation_id": "g", "session_id": nil, "index": 0.0, "delta": "hi"}},
		{"tool started", toolData{feedRef: without, ToolCallID: "c", ServerID: "s", Tool: "t"},
			map[string]any{"generation_id": "g", "session_id": nil, "tool_call_id": "c", "server_id": "s", "tool": "t"}},
		{"tool completed", toolData{feedRef: without, ToolCallID: "c", ServerID: "s", Tool: "t", IsError: &isError},
			map[string]any{"generation_id": "g", "session_id": nil, "tool_call_id": "c", "server_id": "s", "tool": "t", "is_error": false}},
		{"completed without session", endData{feedRef: without, FinishReason: "stop"},
			map[string]any{"generation_id": "g", "session_id": nil, "finish_reason": "stop"}},
		{"completed, titled", endData{feedRef: withSession, FinishReason: "stop", SessionTitle: &[]*string{&title}[0]},
			map[string]any{"generation_id": "g", "session_id": sess.String(), "finish_reason": "stop", "session_title": "Greetings"}},
		{"failed, untitled", endData{feedRef: withSession, FinishReason: "stop", ErrorCode: "server_error", SessionTitle: &untitled},
			map[string]any{"generation_id": "g", "session_id": sess.String(), "finish_reason": "stop", "session_title": nil, "error_code": "server_error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%s encodes to %s; want %v", tc.name, raw, tc.want)
			}
		})
	}
}
