package llm_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

// BenchmarkAnthropicCall measures one upstream call end to end, streamed and not, against a
// local server that answers a canned short reply at once: what the provider itself costs per
// request (building and sending the request, reading and decoding the answer). The server's
// own work is in the numbers too, the same on every run.
func BenchmarkAnthropicCall(b *testing.B) {
	script := llmtest.TextStream("msg_bench", "claude-bench", "Hello", ", ", "world", ".")
	var stream strings.Builder
	for _, ev := range script.Events {
		fmt.Fprintf(&stream, "event: %s\ndata: %s\n\n", ev.Type, ev.Data)
	}
	reply := llmtest.Fold(script.Events).Body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Request-Id", "req_bench")
		if strings.Contains(string(body), `"stream":true`) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, stream.String())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	}))
	defer srv.Close()
	p := llm.NewAnthropic(testKey, srv.URL, nil)

	for _, noStream := range []bool{false, true} {
		name := "stream"
		if noStream {
			name = "reply"
		}
		b.Run(name, func(b *testing.B) {
			req := simpleRequest()
			req.NoStream = noStream
			b.ReportAllocs()
			for b.Loop() {
				s, err := p.Stream(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for s.Next() {
					n++
				}
				if err := s.Err(); err != nil || n == 0 {
					b.Fatalf("%d events, err %v", n, err)
				}
				_ = s.Close()
			}
		})
	}
}
