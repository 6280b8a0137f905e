package llmtest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Usage is the token accounting a script reports in message_start.
type Usage struct {
	Input, Output, CacheRead, CacheWrite int64
}

// Script builds a Messages API event stream in the documented wire order: message_start, ping,
// content blocks (start, deltas, stop), then message_delta and message_stop, or an error event.
type Script struct {
	events []SSEEvent
	block  int
}

// NewScript starts a stream for message id answered by model, with message_start's usage.
func NewScript(id, model string, u Usage) *Script {
	s := &Script{}
	s.Event("message_start", map[string]any{
		"type": "message_start",
		"message": map[string]any{
			"id": id, "type": "message", "role": "assistant", "content": []any{},
			"model": model, "stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]any{
				"input_tokens":                u.Input,
				"cache_creation_input_tokens": u.CacheWrite,
				"cache_read_input_tokens":     u.CacheRead,
				"output_tokens":               u.Output,
			},
		},
	})
	return s.Ping()
}

// Event appends a raw event; data is marshalled unless it is a string or []byte of JSON.
func (s *Script) Event(typ string, data any) *Script {
	var raw []byte
	switch d := data.(type) {
	case string:
		raw = []byte(d)
	case []byte:
		raw = d
	default:
		raw, _ = json.Marshal(d)
	}
	s.events = append(s.events, SSEEvent{Type: typ, Data: string(raw)})
	return s
}

// Ping appends a ping event, which clients must ignore.
func (s *Script) Ping() *Script { return s.Event("ping", `{"type": "ping"}`) }

// Text appends a text block streamed as the given text_delta chunks.
func (s *Script) Text(chunks ...string) *Script {
	i := s.start(map[string]any{"type": "text", "text": ""})
	for _, c := range chunks {
		s.delta(i, map[string]any{"type": "text_delta", "text": c})
	}
	return s.stop(i)
}

// ToolUse appends a tool_use block whose input arrives as input_json_delta fragments (the API
// starts with an empty fragment, as here).
func (s *Script) ToolUse(id, name string, fragments ...string) *Script {
	i := s.start(map[string]any{"type": "tool_use", "id": id, "name": name, "input": map[string]any{}})
	for _, f := range append([]string{""}, fragments...) {
		s.delta(i, map[string]any{"type": "input_json_delta", "partial_json": f})
	}
	return s.stop(i)
}

// Stop ends the message with message_delta (stop reason, cumulative output tokens) and
// message_stop. An empty sequence is sent as null.
func (s *Script) Stop(reason, sequence string, outputTokens int64) Response {
	var seq any
	if sequence != "" {
		seq = sequence
	}
	s.Event("message_delta", map[string]any{
		"type":  "message_delta",
		"delta": map[string]any{"stop_reason": reason, "stop_sequence": seq},
		"usage": map[string]any{"output_tokens": outputTokens},
	})
	s.Event("message_stop", `{"type":"message_stop"}`)
	return s.Response()
}

// Error ends the stream with an error event, as the API does when it fails mid-stream.
func (s *Script) Error(typ, message string) Response {
	s.Event("error", map[string]any{
		"type": "error", "error": map[string]any{"type": typ, "message": message},
	})
	return s.Response()
}

// Response returns the events so far as a 200 stream (use it to cut a stream short).
func (s *Script) Response() Response {
	return Response{Status: http.StatusOK, Events: append([]SSEEvent(nil), s.events...)}
}

func (s *Script) start(block map[string]any) int {
	i := s.block
	s.block++
	s.Event("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": block})
	return i
}

func (s *Script) delta(i int, delta map[string]any) {
	s.Event("content_block_delta", map[string]any{"type": "content_block_delta", "index": i, "delta": delta})
}

func (s *Script) stop(i int) *Script {
	return s.Event("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
}

// DefaultUsage is the usage the canned scripts report in message_start.
var DefaultUsage = Usage{Input: 12, Output: 1}

// TextStream answers with one text block made of chunks, ending with end_turn.
func TextStream(id, model string, chunks ...string) Response {
	return StopStream(id, model, "end_turn", "", chunks...)
}

// StopStream answers with text chunks and then the given stop reason (and stop sequence).
func StopStream(id, model, reason, sequence string, chunks ...string) Response {
	return NewScript(id, model, DefaultUsage).Text(chunks...).Stop(reason, sequence, int64(len(chunks)+1))
}

// MaxTokensStream answers with text chunks cut off by max_tokens.
func MaxTokensStream(id, model string, chunks ...string) Response {
	return StopStream(id, model, "max_tokens", "", chunks...)
}

// ToolUseStream answers with a short text block, then one tool_use block whose arguments
// arrive as the given JSON fragments, ending with tool_use.
func ToolUseStream(id, model, toolID, toolName string, fragments ...string) Response {
	return NewScript(id, model, DefaultUsage).
		Text("Let me check.").
		ToolUse(toolID, toolName, fragments...).
		Stop("tool_use", "", 20)
}

// ErrorMidStream sends message_start and text chunks, then an overloaded_error event.
func ErrorMidStream(id, model string, chunks ...string) Response {
	s := NewScript(id, model, DefaultUsage)
	if len(chunks) > 0 {
		i := s.start(map[string]any{"type": "text", "text": ""})
		for _, c := range chunks {
			s.delta(i, map[string]any{"type": "text_delta", "text": c})
		}
	}
	return s.Error("overloaded_error", "Overloaded")
}

// ErrorResponse is an HTTP error with the API's JSON error body.
func ErrorResponse(status int, typ, message string) Response {
	return Response{
		Status: status,
		Header: http.Header{"Request-Id": {"req_fake_" + strconv.Itoa(status)}},
		Body: map[string]any{
			"type":  "error",
			"error": map[string]any{"type": typ, "message": message},
		},
	}
}

// Overloaded529 is the API's HTTP 529 overloaded_error.
func Overloaded529() Response { return ErrorResponse(529, "overloaded_error", "Overloaded") }

// RateLimited429 is the API's HTTP 429 rate_limit_error.
func RateLimited429() Response {
	r := ErrorResponse(http.StatusTooManyRequests, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")
	r.Header.Set("Retry-After", "1")
	return r
}

// MessageJSON is a non-streaming Messages API response with one text block.
func MessageJSON(id, model, text string) Response {
	return Response{Status: http.StatusOK, Body: map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model,
		"content":       []any{map[string]any{"type": "text", "text": text}},
		"stop_reason":   "end_turn",
		"stop_sequence": nil,
		"usage":         map[string]any{"input_tokens": DefaultUsage.Input, "output_tokens": 5},
	}}
}
