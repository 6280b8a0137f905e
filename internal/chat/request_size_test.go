package chat

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestMessagesBytesIsTheCompactJSON: messagesBytes is the length of the messages' compact JSON,
// unescaped, for messages with and without each optional field.
func TestMessagesBytesIsTheCompactJSON(t *testing.T) {
	call := ToolCall{ID: "call_1", Type: "function"}
	call.Function.Name, call.Function.Arguments = "read_file", `{"path":"main.go"}`
	multiline := call
	multiline.Function.Arguments = "{\"text\":\"a\\\\b\",\n\t\"n\":1}"
	for _, msgs := range [][]Message{
		nil,
		{{Role: "user", Content: json.RawMessage(`"hi <b> & bye"`)}},
		{
			{Role: "system", Content: json.RawMessage(`"be brief"`), Name: "rules"},
			{Role: "user", Content: json.RawMessage(`[{"type":"text","text":"look"}]`)},
			{Role: "assistant", ToolCalls: []ToolCall{call, multiline}},
			{Role: "tool", Content: json.RawMessage(`"package main"`), ToolCallID: "call_1"},
		},
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(msgs); err != nil {
			t.Fatal(err)
		}
		want := len(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		if msgs == nil {
			want = len(`[]`) // a client sends an empty list, not null
		}
		if got := messagesBytes(msgs); got != want {
			t.Errorf("messagesBytes = %d, want %d for %s", got, want, buf.Bytes())
		}
	}
}

// BenchmarkMessagesSize is what measuring a 59 KB conversation costs a chat request: encoding it
// (what the attachments' budget and the token estimate did, each) against messagesBytes.
func BenchmarkMessagesSize(b *testing.B) {
	var msgs []Message
	for range 40 {
		c, _ := json.Marshal(strings.Repeat("func main() { fmt.Println(\"hello <world>\") }\n", 25))
		msgs = append(msgs, Message{Role: "user", Content: c})
	}
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(msgs)
		}
	})
	b.Run("messagesBytes", func(b *testing.B) {
		for b.Loop() {
			_ = messagesBytes(msgs)
		}
	})
}
