package llm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

// merged is a stream's events with the text and each tool call's argument fragments joined
// (and compacted), the usage reports replaced by the last one, at the end: what a caller that
// collects the answer keeps.
func merged(evs []llm.Event) []llm.Event {
	var usage llm.Event
	var out []llm.Event
	args := map[int]int{} // tool index → its ToolArgsDelta in out
	for _, e := range evs {
		switch e.Kind {
		case llm.EventTextDelta:
			if n := len(out); n > 0 && out[n-1].Kind == llm.EventTextDelta {
				out[n-1].Text += e.Text
				continue
			}
		case llm.EventToolArgsDelta:
			if i, ok := args[e.ToolIndex]; ok {
				out[i].ArgsDelta += e.ArgsDelta
				continue
			}
			args[e.ToolIndex] = len(out)
		case llm.EventUsage:
			usage = e
			continue
		}
		out = append(out, e)
	}
	for i, e := range out {
		var b bytes.Buffer
		if e.Kind == llm.EventToolArgsDelta && json.Compact(&b, []byte(e.ArgsDelta)) == nil {
			out[i].ArgsDelta = b.String()
		}
	}
	return append(out, usage)
}

// A request with NoStream asks the API for the whole message ("stream": false) and gives the
// events the streamed answer gives once joined: start, text, tool calls with their arguments,
// usage with the cache counts, the stop reason and sequence.
func TestAnthropicNoStreamGivesTheStreamedAnswer(t *testing.T) {
	withCache := llmtest.NewScript("msg_c", "claude-x", llmtest.Usage{Input: 7, Output: 1, CacheRead: 30, CacheWrite: 4}).
		Text("cached ", "answer").Stop("end_turn", "", 9)
	for name, script := range map[string]llmtest.Response{
		"text":          llmtest.TextStream("msg_t", "claude-x", "Hel", "lo", ", world"),
		"stop sequence": llmtest.StopStream("msg_s", "claude-x", "stop_sequence", "END", "a", "b"),
		"tool call":     llmtest.ToolUseStream("msg_u", "claude-x", "toolu_1", "weather", `{"ci`, `ty": "Paris"}`),
		"tool call without arguments": llmtest.NewScript("msg_n", "claude-x", llmtest.DefaultUsage).
			Text("Now.").ToolUse("toolu_2", "now").Stop("tool_use", "", 3),
		"cache usage": withCache,
		"refusal":     llmtest.StopStream("msg_r", "claude-x", "refusal", "", "no"),
	} {
		t.Run(name, func(t *testing.T) {
			p, fake := newAnthropic(t)
			fake.Enqueue(script, script)
			answers := map[bool][]llm.Event{}
			for _, noStream := range []bool{false, true} {
				req := simpleRequest()
				req.NoStream = noStream
				s, err := p.Stream(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				id, _ := s.(llm.RequestIdentified)
				if id == nil || id.RequestID() == "" {
					t.Errorf("no stream: %v: no upstream request id", noStream)
				}
				evs, err := collect(t, s)
				if err != nil {
					t.Fatalf("no stream: %v: %v", noStream, err)
				}
				answers[noStream] = merged(evs)
				if got := fake.LastRequest().Body["stream"]; got != !noStream {
					t.Errorf("no stream: %v: sent stream = %v", noStream, got)
				}
			}
			if !reflect.DeepEqual(answers[true], answers[false]) {
				t.Errorf("answers differ\n  whole: %+v\nstreamed: %+v", answers[true], answers[false])
			}
		})
	}
}

// Without a stream, the API's failures come back from Stream classified as a stream's are: HTTP
// errors by status (retryable or not), an error the stream would carry part-way as its HTTP
// error, a cut or undecodable body as a connection failure.
func TestAnthropicNoStreamErrors(t *testing.T) {
	for _, c := range []struct {
		name       string
		resp       llmtest.Response
		status     int
		retryable  bool
		overloaded bool
	}{
		{"529", llmtest.Overloaded529(), 529, true, true},
		{"429", llmtest.RateLimited429(), http.StatusTooManyRequests, true, false},
		{"400", llmtest.ErrorResponse(http.StatusBadRequest, "invalid_request_error", "max_tokens: too large"), http.StatusBadRequest, false, false},
		{"overloaded part-way", llmtest.ErrorMidStream("msg_e", "claude-x", "a"), 529, true, true},
		{"cut short", llmtest.NewScript("msg_x", "claude-x", llmtest.DefaultUsage).Text("a").Response(), 0, true, false},
		{"not json", llmtest.Response{Body: "<html>" + testKey + "</html>"}, 0, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, fake := newAnthropic(t)
			fake.Enqueue(c.resp)
			req := simpleRequest()
			req.NoStream = true
			s, err := p.Stream(context.Background(), req)
			if err == nil {
				evs, _ := collect(t, s)
				t.Fatalf("no error; events %v", kinds(evs))
			}
			e := llmErr(t, err)
			if e.Status != c.status || e.Retryable != c.retryable || e.Overloaded != c.overloaded {
				t.Errorf("error %+v, want status %d retryable %v overloaded %v", e, c.status, c.retryable, c.overloaded)
			}
			if strings.Contains(e.Error(), testKey) {
				t.Errorf("the API key leaks into %q", e.Error())
			}
		})
	}
}

// Cancelling the caller's context while the API is still composing the message aborts the
// upstream request and reports a cancellation, not an upstream failure.
func TestAnthropicNoStreamCancel(t *testing.T) {
	p, fake := newAnthropic(t)
	held := llmtest.TextStream("msg_h", "claude-x", "never")
	held.HoldOpen = true
	fake.Enqueue(held)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	req := simpleRequest()
	req.NoStream = true
	_, err := p.Stream(ctx, req)
	if !errors.Is(err, context.Canceled) || llm.ErrorType(err) != llm.ErrTypeCancelled {
		t.Fatalf("err = %v (type %q), want a cancellation", err, llm.ErrorType(err))
	}
	select {
	case <-fake.ClosedEarly():
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request stayed open after the cancel")
	}
}
