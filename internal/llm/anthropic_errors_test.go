package llm_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

func TestAnthropicHTTPErrors(t *testing.T) {
	tests := []struct {
		name       string
		resp       llmtest.Response
		status     int
		retryable  bool
		overloaded bool
	}{
		{"529 overloaded", llmtest.Overloaded529(), 529, true, true},
		{"429 rate limited", llmtest.RateLimited429(), 429, true, false},
		{"500 api error", llmtest.ErrorResponse(500, "api_error", "Internal server error"), 500, true, false},
		{"503 non-json", llmtest.Response{Status: 503, Body: "<html>bad gateway " + testKey + "</html>"}, 503, true, false},
		{"400 invalid request", llmtest.ErrorResponse(400, "invalid_request_error", "messages: roles must alternate"), 400, false, false},
		// A misbehaving proxy echoing the key must not leak it into error text.
		{"401 echoing the key", llmtest.ErrorResponse(401, "authentication_error", "invalid x-api-key "+testKey), 401, false, false},
		{"404 model", llmtest.ErrorResponse(404, "not_found_error", "model: nope"), 404, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAnthropic(t)
			fake.Enqueue(tt.resp)
			s, err := p.Stream(context.Background(), simpleRequest())
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			e := llmErr(t, err)
			if e.Status != tt.status || e.Retryable != tt.retryable || e.Overloaded != tt.overloaded || e.Provider != "anthropic" {
				t.Errorf("error = %+v", e)
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(e.Message, testKey) {
				t.Errorf("API key leaked into %q", err.Error())
			}
			if strings.Contains(e.Message, `"type":"error"`) || strings.Contains(e.Message, "<html>") {
				t.Errorf("raw upstream body in message %q", e.Message)
			}
			if len(fake.Requests()) != 1 {
				t.Errorf("the SDK retried: %d requests", len(fake.Requests()))
			}
		})
	}
}

func TestAnthropicErrorMessageIsUseful(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.ErrorResponse(400, "invalid_request_error", "messages: roles must alternate"))
	_, err := p.Stream(context.Background(), simpleRequest())
	if want := "anthropic: upstream returned HTTP 400 invalid_request_error: messages: roles must alternate"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestAnthropicMidStreamError(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.ErrorMidStream("msg_e", "claude-test", "partial ", "answer"))
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if text(evs) != "partial answer" {
		t.Errorf("text before the error = %q", text(evs))
	}
	for _, e := range evs {
		if e.Kind == llm.EventStop {
			t.Error("a failed stream must not report Stop")
		}
	}
	e := llmErr(t, err)
	if !e.Overloaded || !e.Retryable || e.Status != 529 {
		t.Errorf("error = %+v", e)
	}
}

func TestAnthropicTruncatedStream(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.NewScript("m", "c", llmtest.DefaultUsage).Text("cut").Response())
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect(t, s)
	if e := llmErr(t, err); !e.Retryable || e.Status != 0 {
		t.Errorf("error = %+v", e)
	}
}

func TestAnthropicConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	p := llm.NewAnthropic(testKey, url, nil)
	_, err = p.Stream(context.Background(), simpleRequest())
	e := llmErr(t, err)
	if e.Status != 0 || !e.Retryable || e.Overloaded {
		t.Errorf("error = %+v", e)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("API key leaked into %q", err)
	}
}

func TestAnthropicCancellationClosesUpstream(t *testing.T) {
	tests := []struct {
		name   string
		cancel func(context.CancelFunc, llm.Stream)
	}{
		{"context cancelled", func(cancel context.CancelFunc, _ llm.Stream) { cancel() }},
		{"stream closed", func(_ context.CancelFunc, s llm.Stream) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAnthropic(t)
			resp := llmtest.TextStream("m", "c", "one", "two", "three", "four")
			resp.Delay = 30 * time.Millisecond
			resp.HoldOpen = true
			fake.Enqueue(resp)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := p.Stream(ctx, simpleRequest())
			if err != nil {
				t.Fatal(err)
			}
			for s.Next() && s.Event().Kind != llm.EventTextDelta {
			}
			tt.cancel(cancel, s)
			select {
			case <-fake.ClosedEarly():
			case <-time.After(time.Second):
				t.Fatal("upstream connection still open 1s after cancellation")
			}
			for s.Next() {
			}
			if err := s.Err(); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want nil or context.Canceled", err)
			}
			s.Close()
		})
	}
}

func TestAnthropicCancelledBeforeStart(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.TextStream("m", "c", "x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Stream(ctx, simpleRequest())
	e := llmErr(t, err)
	if e.Retryable || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %+v", e)
	}
}

func TestAnthropicCloseFromAnotherGoroutine(t *testing.T) {
	p, fake := newAnthropic(t)
	resp := llmtest.TextStream("m", "c", "one")
	resp.HoldOpen = true // no message_delta: Next blocks after the text
	resp.Events = resp.Events[:len(resp.Events)-2]
	fake.Enqueue(resp)
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		for s.Next() {
		}
		done <- s.Err()
	}()
	time.Sleep(50 * time.Millisecond) // let Next block on the open connection
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Next still blocked 1s after Close")
	}
	select {
	case <-fake.ClosedEarly():
	case <-time.After(time.Second):
		t.Fatal("upstream connection still open")
	}
}
