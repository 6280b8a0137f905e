package llm_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

const testKey = "sk-ant-test-SECRET-0123456789"

func newAnthropic(t *testing.T) (*llm.Anthropic, *llmtest.FakeAnthropic) {
	t.Helper()
	fake := llmtest.NewFakeAnthropic(t)
	return llm.NewAnthropic(testKey, fake.URL, nil), fake
}

func simpleRequest() llm.Request {
	return llm.Request{Model: "claude-test", MaxTokens: 100, Messages: []llm.Message{userText("hi")}}
}

func TestAnthropicStopReasons(t *testing.T) {
	tests := []struct {
		raw, seq string
		want     llm.StopReason
	}{
		{"end_turn", "", llm.StopEndTurn},
		{"stop_sequence", "###", llm.StopSequence},
		{"max_tokens", "", llm.StopMaxTokens},
		{"tool_use", "", llm.StopToolUse},
		{"refusal", "", llm.StopRefusal},
		{"pause_turn", "", llm.StopPauseTurn},
		{"model_context_window_exceeded", "", llm.StopContextWindow},
		{"brand_new_reason", "", llm.StopOther},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			p, fake := newAnthropic(t)
			fake.Enqueue(llmtest.StopStream("msg_1", "claude-test", tt.raw, tt.seq, "a", "b"))
			s, err := p.Stream(context.Background(), simpleRequest())
			if err != nil {
				t.Fatal(err)
			}
			evs, err := collect(t, s)
			if err != nil {
				t.Fatal(err)
			}
			stop := evs[len(evs)-1]
			if stop.Kind != llm.EventStop || stop.StopReason != tt.want || stop.RawStopReason != tt.raw || stop.StopSequence != tt.seq {
				t.Errorf("stop = %+v, want reason %q raw %q seq %q", stop, tt.want, tt.raw, tt.seq)
			}
		})
	}
}

func TestAnthropicTextEventsAndUsage(t *testing.T) {
	p, fake := newAnthropic(t)
	script := llmtest.NewScript("msg_cache", "claude-sonnet-x", llmtest.Usage{Input: 7, Output: 1, CacheRead: 900, CacheWrite: 120}).
		Text("Hel", "lo", " world")
	// The API may re-report input counts in message_delta; they are cumulative, not increments.
	script.Event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9,"input_tokens":8}}`)
	script.Event("message_stop", `{"type":"message_stop"}`)
	fake.Enqueue(script.Response())

	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := []llm.EventKind{llm.EventStart, llm.EventUsage, llm.EventTextDelta, llm.EventTextDelta, llm.EventTextDelta, llm.EventUsage, llm.EventStop}
	if !slices.Equal(kinds(evs), wantKinds) {
		t.Fatalf("kinds = %v, want %v", kinds(evs), wantKinds)
	}
	if evs[0].MessageID != "msg_cache" || evs[0].Model != "claude-sonnet-x" {
		t.Errorf("start = %+v", evs[0])
	}
	if got, want := evs[1].Usage, (llm.Usage{InputTokens: 7, OutputTokens: 1, CacheReadTokens: 900, CacheWriteTokens: 120}); got != want {
		t.Errorf("start usage = %+v, want %+v", got, want)
	}
	if got, want := evs[5].Usage, (llm.Usage{InputTokens: 8, OutputTokens: 9, CacheReadTokens: 900, CacheWriteTokens: 120}); got != want {
		t.Errorf("final usage = %+v, want %+v", got, want)
	}
	if text(evs) != "Hello world" {
		t.Errorf("text = %q", text(evs))
	}
}

func TestAnthropicToolUseFragments(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.ToolUseStream("msg_t", "claude-test", "toolu_01", "get_weather", `{"ci`, `ty": "Pa`, `ris", "unit"`, `: "c"}`))
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	start := last(t, evs, llm.EventToolCallStart)
	if start.ToolIndex != 0 || start.ToolID != "toolu_01" || start.ToolName != "get_weather" {
		t.Errorf("tool start = %+v (index must count tool calls, not content blocks)", start)
	}
	var args strings.Builder
	for _, e := range evs {
		if e.Kind == llm.EventToolArgsDelta {
			if e.ToolIndex != 0 || e.ArgsDelta == "" {
				t.Errorf("args delta = %+v", e)
			}
			args.WriteString(e.ArgsDelta)
		}
	}
	jsonEqual(t, []byte(args.String()), []byte(`{"city":"Paris","unit":"c"}`))
	if text(evs) != "Let me check." {
		t.Errorf("text = %q", text(evs))
	}
	if stop := last(t, evs, llm.EventStop); stop.StopReason != llm.StopToolUse {
		t.Errorf("stop = %+v", stop)
	}
}

func TestAnthropicTwoToolCallsGetSequentialIndexes(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.NewScript("m", "c", llmtest.DefaultUsage).
		ToolUse("toolu_a", "a", `{}`).Text("between").ToolUse("toolu_b", "b", `{"x":`, `1}`).
		Stop("tool_use", "", 30))
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		switch e.Kind {
		case llm.EventToolCallStart:
			got = append(got, e.ToolName+"@"+string(rune('0'+e.ToolIndex)))
		case llm.EventToolArgsDelta:
			got = append(got, e.ArgsDelta+"@"+string(rune('0'+e.ToolIndex)))
		}
	}
	want := []string{"a@0", "{}@0", "b@1", `{"x":@1`, "1}@1"}
	if !slices.Equal(got, want) {
		t.Errorf("tool events = %v, want %v", got, want)
	}
}

func TestAnthropicSendsCredentialsNotEnvironment(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "env-key-must-not-be-used")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.TextStream("m", "c", "ok"))
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); err != nil {
		t.Fatal(err)
	}
	h := fake.LastRequest().Header
	if h.Get("X-Api-Key") != testKey && h.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("credentials not sent: x-api-key=%q authorization=%q", h.Get("X-Api-Key"), h.Get("Authorization"))
	}
	if h.Get("Anthropic-Version") == "" {
		t.Error("anthropic-version header missing")
	}
	if got := fake.LastRequest().Body["stream"]; got != true {
		t.Errorf("stream = %v, want true", got)
	}
}
