package llmtest

import (
	"encoding/json"
	"net/http"
)

// Folded is what the Messages API answers without streaming for the answer a script streams:
// the whole message as one JSON body, an HTTP error for a stream that carries an error event,
// or (Cut) a body broken off for a stream that ends before message_stop.
type Folded struct {
	Status int
	Body   []byte
	Cut    bool
}

// Fold turns a stream's events into the non-streamed answer, as the API builds it: the content
// blocks with their text and parsed tool input, the stop reason and the usage, cumulative as
// message_delta reports it.
func Fold(events []SSEEvent) Folded {
	var msg map[string]any
	var blocks []map[string]any
	var args []string // a tool_use block's input_json_delta fragments, per block
	complete := false
	for _, ev := range events {
		var data map[string]any
		if json.Unmarshal([]byte(ev.Data), &data) != nil {
			continue
		}
		switch ev.Type {
		case "message_start":
			msg, _ = data["message"].(map[string]any)
		case "content_block_start":
			b, _ := data["content_block"].(map[string]any)
			blocks, args = append(blocks, clone(b)), append(args, "")
		case "content_block_delta":
			i, d := blockIndex(data, len(blocks)), asMap(data["delta"])
			if i < 0 {
				continue
			}
			switch d["type"] {
			case "text_delta":
				blocks[i]["text"] = str(blocks[i]["text"]) + str(d["text"])
			case "input_json_delta":
				args[i] += str(d["partial_json"])
			}
		case "message_delta":
			d := asMap(data["delta"])
			msg["stop_reason"], msg["stop_sequence"] = d["stop_reason"], d["stop_sequence"]
			usage := asMap(msg["usage"])
			for k, v := range asMap(data["usage"]) {
				usage[k] = v
			}
			msg["usage"] = usage
		case "message_stop":
			complete = true
		case "error":
			e := asMap(data["error"])
			body, _ := json.Marshal(data)
			return Folded{Status: errorStatus(str(e["type"])), Body: body}
		}
	}
	if msg == nil {
		msg = map[string]any{}
	}
	for i, b := range blocks {
		if b["type"] == "tool_use" {
			input := json.RawMessage(`{}`)
			if args[i] != "" {
				input = json.RawMessage(args[i])
			}
			b["input"] = input
		}
	}
	content := make([]any, len(blocks))
	for i, b := range blocks {
		content[i] = b
	}
	msg["content"] = content
	body, _ := json.Marshal(msg)
	if !complete {
		return Folded{Status: http.StatusOK, Body: body[:len(body)/2], Cut: true}
	}
	return Folded{Status: http.StatusOK, Body: body}
}

// errorStatus is the HTTP status the API answers an error type with.
func errorStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "overloaded_error":
		return 529
	default:
		return http.StatusInternalServerError
	}
}

func blockIndex(data map[string]any, n int) int {
	f, ok := data["index"].(float64)
	if !ok || int(f) < 0 || int(f) >= n {
		return -1
	}
	return int(f)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func str(v any) string { s, _ := v.(string); return s }

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
