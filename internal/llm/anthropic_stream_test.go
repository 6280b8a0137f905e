package llm_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

// A stream ends at message_stop, without waiting for the end of the HTTP body, and Close then
// reads the rest so the next request reuses the connection.
func TestAnthropicStreamEndsAtMessageStopAndKeepsTheConnection(t *testing.T) {
	events := llmtest.NewScript("msg_end", "claude-test", llmtest.DefaultUsage).Text("done").Stop("end_turn", "", 2).Events
	release := make(chan struct{}) // the fake holds each body open after message_stop until this closes
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(release) }) })
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range events {
			_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, ev.Data)
		}
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	p := llm.NewAnthropic(testKey, srv.URL, nil)

	for round := range 2 {
		s, err := p.Stream(context.Background(), simpleRequest())
		if err != nil {
			t.Fatal(err)
		}
		ended := make(chan []llm.Event)
		go func() {
			var evs []llm.Event
			for s.Next() {
				evs = append(evs, s.Event())
			}
			ended <- evs
		}()
		select {
		case evs := <-ended:
			if s.Err() != nil || text(evs) != "done" || last(t, evs, llm.EventStop).StopReason != llm.StopEndTurn {
				t.Fatalf("round %d: events %v, text %q, err %v", round, kinds(evs), text(evs), s.Err())
			}
		case <-time.After(5 * time.Second):
			_ = s.Close()
			t.Fatalf("round %d: the stream did not end at message_stop while the body stayed open", round)
		}
		released.Do(func() { close(release) })
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d upstream connections for two streams, want 1 (the first one reused)", n)
	}
}

// An event that is not JSON ends the stream with an upstream error, not a panic or a silent stop.
func TestAnthropicUndecodableEvent(t *testing.T) {
	p, fake := newAnthropic(t)
	script := llmtest.NewScript("msg_bad", "claude-test", llmtest.DefaultUsage).Text("before")
	script.Event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tru`)
	fake.Enqueue(script.Response())
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if text(evs) != "before" {
		t.Errorf("text before the bad event = %q", text(evs))
	}
	if e := llmErr(t, err); e.Provider != "anthropic" || e.Status != 0 || !strings.Contains(e.Error(), "undecodable upstream event content_block_delta") {
		t.Errorf("error = %v (%+v)", e, e)
	}
}
