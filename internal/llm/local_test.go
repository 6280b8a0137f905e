package llm_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
)

func localRun(t *testing.T, req llm.Request) []llm.Event {
	t.Helper()
	s, err := llm.NewLocal().Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestLocalAnswers(t *testing.T) {
	tools := []llm.Tool{{Name: "get_time"}, {Name: "get_weather"}}
	tests := []struct {
		name     string
		req      llm.Request
		wantText string
		wantStop llm.StopReason
		wantTool string
	}{
		{"echo", llm.Request{Model: "dev", Messages: []llm.Message{userText("hello   there, friend")}},
			"[local model] You said: hello there, friend", llm.StopEndTurn, ""},
		{"tool requested", llm.Request{Tools: tools, Messages: []llm.Message{userText("please Call get_weather now")}},
			"", llm.StopToolUse, "get_weather"},
		{"tool phrase without tools", llm.Request{Messages: []llm.Message{userText("call get_weather")}},
			"[local model] You said: call get_weather", llm.StopEndTurn, ""},
		{"tool choice none", llm.Request{Tools: tools, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone}, Messages: []llm.Message{userText("call get_time")}},
			"[local model] You said: call get_time", llm.StopEndTurn, ""},
		{"tool forced", llm.Request{Tools: tools, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNamed, Name: "get_time"}, Messages: []llm.Message{userText("hi")}},
			"", llm.StopToolUse, "get_time"},
		{"tool result", llm.Request{Tools: tools, Messages: []llm.Message{
			userText("call get_time"),
			{Role: llm.Assistant, Parts: []llm.Part{{Kind: llm.ToolUse, ToolUseID: "t1", ToolName: "get_time"}}},
			{Role: llm.User, Parts: []llm.Part{{Kind: llm.ToolResult, ToolUseID: "t1", Text: "noon"}}},
		}}, "[local model] Tool returned: noon", llm.StopEndTurn, ""},
		{"max tokens", llm.Request{MaxTokens: 4, Messages: []llm.Message{userText("a b c d")}},
			"[local model] You said: ", llm.StopMaxTokens, ""},
		{"stop sequence", llm.Request{Stop: []string{"zz", "said"}, Messages: []llm.Message{userText("a")}},
			"[local model] You ", llm.StopSequence, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := localRun(t, tt.req)
			if evs[0].Kind != llm.EventStart || evs[1].Kind != llm.EventUsage {
				t.Fatalf("stream does not open with Start, Usage: %v", kinds(evs))
			}
			if got := text(evs); got != tt.wantText {
				t.Errorf("text = %q, want %q", got, tt.wantText)
			}
			stop := evs[len(evs)-1]
			if stop.Kind != llm.EventStop || stop.StopReason != tt.wantStop {
				t.Errorf("stop = %+v, want %s", stop, tt.wantStop)
			}
			if u := evs[len(evs)-2]; u.Kind != llm.EventUsage || u.Usage.InputTokens <= 0 || u.Usage.OutputTokens <= 0 {
				t.Errorf("final usage = %+v", u)
			}
			if tt.wantTool != "" {
				start := last(t, evs, llm.EventToolCallStart)
				args := last(t, evs, llm.EventToolArgsDelta)
				if start.ToolName != tt.wantTool || start.ToolID == "" || args.ArgsDelta != "{}" {
					t.Errorf("tool call = %+v %+v", start, args)
				}
			}
		})
	}
}

func TestLocalDeterministicAndChunked(t *testing.T) {
	req := llm.Request{Model: "dev", Messages: []llm.Message{userText("the same question")}}
	a, b := localRun(t, req), localRun(t, req)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two runs differ:\n%+v\n%+v", a, b)
	}
	deltas := 0
	for _, e := range a {
		if e.Kind == llm.EventTextDelta {
			deltas++
		}
	}
	if deltas < 3 {
		t.Errorf("%d text deltas, want several", deltas)
	}
	if a[0].Model != "dev" || a[0].MessageID == "" {
		t.Errorf("start = %+v", a[0])
	}
	other := localRun(t, llm.Request{Model: "dev", Messages: []llm.Message{userText("another question")}})
	if other[0].MessageID == a[0].MessageID {
		t.Error("different conversations share a message id")
	}
}

func TestLocalHonoursCancellation(t *testing.T) {
	l := llm.NewLocal()
	l.Delay = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	s, err := l.Stream(ctx, llm.Request{Messages: []llm.Message{userText("one two three four five six")}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for s.Next() && s.Event().Kind != llm.EventTextDelta {
	}
	cancel()
	start := time.Now()
	for s.Next() {
		if s.Event().Kind == llm.EventStop {
			t.Fatal("stream finished despite cancellation")
		}
	}
	if !errors.Is(s.Err(), context.Canceled) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("err = %v after %v", s.Err(), time.Since(start))
	}
	if _, err := l.Stream(ctx, llm.Request{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Stream on a cancelled context: %v", err)
	}
	if l.Name() != "local" {
		t.Errorf("name = %q", l.Name())
	}
}
