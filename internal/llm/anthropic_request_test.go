package llm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

func TestAnthropicDescribeMatchesWire(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.TextStream("m", "c", "ok"))
	req := fullRequest()
	desc, err := p.Describe(req)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, fake.LastRequest().Raw, desc)
}

// fullRequest exercises every translated field.
func fullRequest() llm.Request {
	return llm.Request{
		Model:       "claude-test",
		System:      "You are terse.",
		MaxTokens:   256,
		Temperature: ptr(0.5),
		TopP:        ptr(0.9),
		Stop:        []string{"\n\nHuman:", "###"},
		User:        "user-42",
		Tools: []llm.Tool{{
			Name:        "get_weather",
			Description: "Weather for a city",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`),
		}, {Name: "now"}},
		ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceAuto, DisableParallel: true},
		Messages: []llm.Message{
			{Role: llm.User, Parts: []llm.Part{
				{Kind: llm.Text, Text: "What is this and the weather?"},
				{Kind: llm.Image, MediaType: "image/png", Data: "iVBORw0KGgo="},
			}},
			{Role: llm.Assistant, Parts: []llm.Part{
				{Kind: llm.Text, Text: "Checking."},
				{Kind: llm.ToolUse, ToolUseID: "toolu_1", ToolName: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)},
				{Kind: llm.ToolUse, ToolUseID: "toolu_2", ToolName: "now"},
			}},
			{Role: llm.User, Parts: []llm.Part{
				{Kind: llm.ToolResult, ToolUseID: "toolu_1", Text: "18C"},
				{Kind: llm.ToolResult, ToolUseID: "toolu_2", Text: "clock broken", IsError: true},
			}},
		},
	}
}

const fullRequestWire = `{
  "model": "claude-test",
  "max_tokens": 256,
  "stream": true,
  "system": [{"type": "text", "text": "You are terse."}],
  "temperature": 0.5,
  "top_p": 0.9,
  "stop_sequences": ["\n\nHuman:", "###"],
  "metadata": {"user_id": "user-42"},
  "tools": [
    {"name": "get_weather", "description": "Weather for a city",
     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}},
    {"name": "now", "input_schema": {"type": "object", "properties": {}}}
  ],
  "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
  "messages": [
    {"role": "user", "content": [
      {"type": "text", "text": "What is this and the weather?"},
      {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    ]},
    {"role": "assistant", "content": [
      {"type": "text", "text": "Checking."},
      {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
      {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}
    ]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}], "is_error": false},
      {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "clock broken"}], "is_error": true}
    ]}
  ]
}`

func TestAnthropicRequestTranslation(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.TextStream("m", "c", "ok"))
	s, err := p.Stream(context.Background(), fullRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, fake.LastRequest().Raw, []byte(fullRequestWire))
}

func TestAnthropicToolChoice(t *testing.T) {
	tests := []struct {
		name string
		tc   *llm.ToolChoice
		want string // tool_choice JSON, "" for absent
	}{
		{"absent", nil, ""},
		{"auto", &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, `{"type":"auto"}`},
		{"empty mode is auto", &llm.ToolChoice{}, `{"type":"auto"}`},
		{"any", &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, `{"type":"any"}`},
		{"any serial", &llm.ToolChoice{Mode: llm.ToolChoiceRequired, DisableParallel: true}, `{"type":"any","disable_parallel_tool_use":true}`},
		{"named", &llm.ToolChoice{Mode: llm.ToolChoiceNamed, Name: "now"}, `{"type":"tool","name":"now"}`},
		{"named serial", &llm.ToolChoice{Mode: llm.ToolChoiceNamed, Name: "now", DisableParallel: true}, `{"type":"tool","name":"now","disable_parallel_tool_use":true}`},
		{"none", &llm.ToolChoice{Mode: llm.ToolChoiceNone}, `{"type":"none"}`},
	}
	p := llm.NewAnthropic(testKey, "http://127.0.0.1:1", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := simpleRequest()
			req.Tools = []llm.Tool{{Name: "now"}}
			req.ToolChoice = tt.tc
			body, err := p.Describe(req)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			got, ok := m["tool_choice"]
			if tt.want == "" {
				if ok {
					t.Errorf("tool_choice = %s, want absent", got)
				}
				return
			}
			jsonEqual(t, got, []byte(tt.want))
		})
	}
}

func TestAnthropicDefaultsAndOmissions(t *testing.T) {
	p := llm.NewAnthropic(testKey, "", nil)
	body, err := p.Describe(llm.Request{Model: "m", Messages: []llm.Message{userText("x")}})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, body, []byte(`{"model":"m","max_tokens":4096,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`))

	if _, err := p.Describe(llm.Request{Model: "m", Messages: []llm.Message{{Role: "system"}}}); err == nil {
		t.Error("unknown role accepted")
	}
	bad := llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.Assistant, Parts: []llm.Part{{Kind: llm.ToolUse, Input: json.RawMessage(`{`)}}}}}
	if _, err := p.Describe(bad); err == nil {
		t.Error("invalid tool input accepted")
	}
}
