package llm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

const fuzzAPIKey = "sk-ant-fuzz-0123456789abcdef"

// fuzzAnthropicStream reads body as the event stream of a 200 answer to Messages.
func fuzzAnthropicStream(body []byte) *anthropicStream {
	ctx, cancel, detach := followUntilDetached(context.Background())
	return &anthropicStream{p: NewAnthropic(fuzzAPIKey, "http://127.0.0.1:1", nil), ctx: ctx, cancel: cancel, detach: detach,
		events: newSSEDecoder(io.NopCloser(bytes.NewReader(body))), toolIndex: map[int64]int{}}
}

// FuzzAnthropicEvents decodes arbitrary upstream event streams. Whatever the upstream sends,
// the stream ends; it ends without error only after exactly one Stop; tool argument deltas
// belong to a tool call started before, numbered in order; token counts never go negative
// (they are billed); and an error never repeats the API key, even when the upstream echoes it.
func FuzzAnthropicEvents(f *testing.F) {
	for _, seed := range []string{
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n" +
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
			"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n" +
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n" +
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":7}}\n\n" +
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded " + fuzzAPIKey + "\"}}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"###\"},\"usage\":{\"output_tokens\":-3}}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":5,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"x\"}}\n\n",
		"event: message_start\ndata: {not json " + fuzzAPIKey + "\n\n",
		"data: {\"type\":\"message_start\"}\r\n\r\n: comment\n\nevent:\ndata:\n\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := fuzzAnthropicStream(body)
		defer func() { _ = s.Close() }()
		stops, tools := 0, 0
		for n := 0; s.Next(); n++ {
			if n > 4*len(body)+8 {
				t.Fatalf("%d events from %d bytes: the stream does not end", n, len(body))
			}
			e := s.Event()
			switch e.Kind {
			case EventStop:
				stops++
			case EventToolCallStart:
				if e.ToolIndex != tools {
					t.Fatalf("tool call %d numbered %d", tools, e.ToolIndex)
				}
				tools++
			case EventToolArgsDelta:
				if e.ToolIndex < 0 || e.ToolIndex >= tools {
					t.Fatalf("arguments for tool call %d of %d started", e.ToolIndex, tools)
				}
			case EventUsage:
				u := e.Usage
				if u.InputTokens < 0 || u.OutputTokens < 0 || u.CacheReadTokens < 0 || u.CacheWriteTokens < 0 {
					t.Fatalf("negative token counts %+v", u)
				}
			}
		}
		if stops > 1 {
			t.Fatalf("%d Stop events", stops)
		}
		err := s.Err()
		if err == nil && stops != 1 {
			t.Fatal("the stream ended without error and without Stop")
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Provider != "anthropic" {
				t.Fatalf("error %T %v, want *llm.Error", err, err)
			}
			if strings.Contains(err.Error(), fuzzAPIKey) {
				t.Fatalf("the error repeats the API key: %v", err)
			}
		}
	})
}
