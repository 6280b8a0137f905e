package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// chatBenchBody is a typical chat completion request: a system prompt, a short conversation,
// sampling parameters and one tool.
const chatBenchBody = `{"model":"claude-sonnet-4-5","stream":true,"stream_options":{"include_usage":true},` +
	`"max_tokens":1024,"temperature":0.7,"top_p":0.9,"user":"u-123","session_id":"6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f",` +
	`"messages":[{"role":"system","content":"You are a concise assistant for a code editor."},` +
	`{"role":"user","content":"What does this function do?\n\nfunc add(a, b int) int { return a + b }"},` +
	`{"role":"assistant","content":"It returns the sum of its two integer arguments."},` +
	`{"role":"user","content":[{"type":"text","text":"And how would I test it?"}]}],` +
	`"tools":[{"type":"function","function":{"name":"run_tests","description":"Runs the package's tests.",` +
	`"parameters":{"type":"object","properties":{"package":{"type":"string"},"verbose":{"type":"boolean"}},"required":["package"]}}}]}`

func chatBenchShape(b *testing.B) *shape {
	spec, err := Spec()
	if err != nil {
		b.Fatal(err)
	}
	rb, ok := bodiesByRoute(spec)["POST /v1/chat/completions"]
	if !ok || rb.shape == nil {
		b.Fatal("no shape for the chat route")
	}
	return rb.shape
}

// BenchmarkBodyGuardChat measures the guard's one pass over a typical chat body.
func BenchmarkBodyGuardChat(b *testing.B) {
	sh := chatBenchShape(b)
	body := []byte(chatBenchBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if fe := scanJSON(body, sh); fe != nil {
			b.Fatal(fe)
		}
	}
}

// BenchmarkValidatorDecodeChat is, for scale, the decode the validator does anyway before it
// checks the schema (a json.Decoder into any, numbers kept as text).
func BenchmarkValidatorDecodeChat(b *testing.B) {
	body := []byte(chatBenchBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}
