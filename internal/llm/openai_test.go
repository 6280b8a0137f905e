package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
)

func TestOpenAITextAndUsage(t *testing.T) {
	f := newFakeOpenAI(t, openaiScript{chunks: []string{
		chunk(`{"role":"assistant","content":""}`, ""),
		chunk(`{"content":"Hel"}`, ""),
		chunk(`{"content":"lo"}`, ""),
		chunk(`{}`, "stop"),
		usageChunk,
	}})
	p := llm.NewOpenAI("ollama", "k", f.url, nil)
	s, err := p.Stream(context.Background(), simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.EventKind{llm.EventStart, llm.EventTextDelta, llm.EventTextDelta, llm.EventUsage, llm.EventStop}
	if !slices.Equal(kinds(evs), want) {
		t.Fatalf("kinds = %v, want %v", kinds(evs), want)
	}
	if evs[0].MessageID != "chatcmpl-1" || evs[0].Model != "llama3" || text(evs) != "Hello" {
		t.Errorf("events = %+v", evs)
	}
	if got, want := evs[3].Usage, (llm.Usage{InputTokens: 10, CacheReadTokens: 20, OutputTokens: 7}); got != want {
		t.Errorf("usage = %+v, want %+v", got, want)
	}
	if p.Name() != "ollama" {
		t.Errorf("name = %q", p.Name())
	}
}

func TestOpenAIFinishReasons(t *testing.T) {
	tests := []struct {
		raw  string
		want llm.StopReason
	}{
		{"stop", llm.StopEndTurn},
		{"length", llm.StopMaxTokens},
		{"tool_calls", llm.StopToolUse},
		{"content_filter", llm.StopRefusal},
		{"something_new", llm.StopOther},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			// No usage chunk: the server ignored include_usage; a zero Usage still precedes Stop.
			f := newFakeOpenAI(t, openaiScript{chunks: []string{chunk(`{"content":"x"}`, tt.raw)}})
			s, err := llm.NewOpenAI("vllm", "", f.url, nil).Stream(context.Background(), simpleRequest())
			if err != nil {
				t.Fatal(err)
			}
			evs, err := collect(t, s)
			if err != nil {
				t.Fatal(err)
			}
			n := len(evs)
			if evs[n-2].Kind != llm.EventUsage || evs[n-1].StopReason != tt.want || evs[n-1].RawStopReason != tt.raw {
				t.Errorf("tail = %+v", evs[n-2:])
			}
		})
	}
}

func TestOpenAIToolCalls(t *testing.T) {
	f := newFakeOpenAI(t, openaiScript{chunks: []string{
		chunk(`{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"now","arguments":"{}"}}]}`, ""),
		chunk(`{}`, "tool_calls"),
		usageChunk,
	}})
	s, err := llm.NewOpenAI("openrouter", "k", f.url, nil).Stream(context.Background(), simpleRequest())
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
			got = append(got, fmt.Sprintf("start %d %s %s", e.ToolIndex, e.ToolID, e.ToolName))
		case llm.EventToolArgsDelta:
			got = append(got, fmt.Sprintf("args %d %s", e.ToolIndex, e.ArgsDelta))
		}
	}
	want := []string{"start 0 call_a get_weather", `args 0 {"city":`, `args 0 "Paris"}`, "start 1 call_b now", "args 1 {}"}
	if !slices.Equal(got, want) {
		t.Errorf("tool events:\n got %q\nwant %q", got, want)
	}
	if last(t, evs, llm.EventStop).StopReason != llm.StopToolUse {
		t.Error("stop reason is not tool_use")
	}
}

const fullRequestOpenAIWire = `{
  "model": "claude-test",
  "stream": true,
  "stream_options": {"include_usage": true},
  "max_tokens": 256,
  "temperature": 0.5,
  "top_p": 0.9,
  "stop": ["\n\nHuman:", "###"],
  "user": "user-42",
  "parallel_tool_calls": false,
  "tool_choice": "auto",
  "tools": [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}},
    {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}
  ],
  "messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [
      {"type": "text", "text": "What is this and the weather?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    ]},
    {"role": "assistant", "content": "Checking.", "tool_calls": [
      {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
      {"id": "toolu_2", "type": "function", "function": {"name": "now", "arguments": "{}"}}
    ]},
    {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
    {"role": "tool", "tool_call_id": "toolu_2", "content": "Error: clock broken"}
  ]
}`

func TestOpenAIRequestTranslation(t *testing.T) {
	t.Setenv("OPENAI_ORG_ID", "org-from-env")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	f := newFakeOpenAI(t, openaiScript{chunks: []string{chunk(`{"content":"ok"}`, "stop")}})
	p := llm.NewOpenAI("vllm", "sk-openai-key", f.url, nil)
	s, err := p.Stream(context.Background(), fullRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, f.bodies[0], []byte(fullRequestOpenAIWire))
	desc, err := p.Describe(fullRequest())
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, desc, f.bodies[0])
	h := f.headers[0]
	if h.Get("Authorization") != "Bearer sk-openai-key" || h.Get("OpenAI-Organization") != "" {
		t.Errorf("headers: authorization=%q organization=%q", h.Get("Authorization"), h.Get("OpenAI-Organization"))
	}
}

func TestOpenAIToolChoice(t *testing.T) {
	p := llm.NewOpenAI("x", "", "http://127.0.0.1:1/v1", nil)
	tests := []struct {
		tc   llm.ToolChoice
		want string
	}{
		{llm.ToolChoice{Mode: llm.ToolChoiceNone}, `"none"`},
		{llm.ToolChoice{Mode: llm.ToolChoiceRequired}, `"required"`},
		{llm.ToolChoice{Mode: llm.ToolChoiceNamed, Name: "now"}, `{"type":"function","function":{"name":"now"}}`},
	}
	for _, tt := range tests {
		req := simpleRequest()
		req.Tools = []llm.Tool{{Name: "now"}}
		req.ToolChoice = &tt.tc
		body, err := p.Describe(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(body, &m)
		jsonEqual(t, m["tool_choice"], []byte(tt.want))
	}
}

func TestOpenAIErrors(t *testing.T) {
	const key = "sk-openai-SECRET-987"
	tests := []struct {
		name      string
		script    openaiScript
		atStart   bool
		status    int
		retryable bool
	}{
		{"429", openaiScript{status: 429, body: `{"error":{"message":"slow down","type":"rate_limit_error"}}`}, true, 429, true},
		{"503", openaiScript{status: 503, body: `upstream down`}, true, 503, true},
		{"401 echoing key", openaiScript{status: 401, body: `{"error":{"message":"bad key ` + key + `","type":"invalid_request_error"}}`}, true, 401, false},
		{"error mid-stream", openaiScript{chunks: []string{chunk(`{"content":"a"}`, ""), `{"error":{"message":"backend died ` + key + `","type":"server_error"}}`}}, false, 0, true},
		{"truncated", openaiScript{chunks: []string{chunk(`{"content":"a"}`, "")}, noDone: true}, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOpenAI(t, tt.script)
			s, err := llm.NewOpenAI("vllm", key, f.url, nil).Stream(context.Background(), simpleRequest())
			if !tt.atStart {
				if err != nil {
					t.Fatal(err)
				}
				_, err = collect(t, s)
			}
			e := llmErr(t, err)
			if e.Status != tt.status || e.Retryable != tt.retryable || e.Provider != "vllm" {
				t.Errorf("error = %+v", e)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("key leaked: %q", err)
			}
			if len(f.bodies) != 1 {
				t.Errorf("SDK retried: %d requests", len(f.bodies))
			}
		})
	}
}

func TestOpenAICancellation(t *testing.T) {
	f := newFakeOpenAI(t, openaiScript{chunks: []string{chunk(`{"content":"a"}`, "")}, hold: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := llm.NewOpenAI("vllm", "", f.url, nil).Stream(ctx, simpleRequest())
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() && s.Event().Kind != llm.EventTextDelta {
	}
	cancel()
	select {
	case <-f.gone:
	case <-time.After(time.Second):
		t.Fatal("upstream connection still open 1s after cancellation")
	}
	for s.Next() {
	}
	if !errors.Is(s.Err(), context.Canceled) {
		t.Errorf("err = %v", s.Err())
	}
	s.Close()
}
