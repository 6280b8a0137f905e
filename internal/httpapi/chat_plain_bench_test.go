package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// benchUpstream is a Messages API fake without pauses that answers every request at once: with
// answer's stream for the body it is given (any number of requests, nothing recorded).
func benchUpstream(b *testing.B, answer func(body []byte) llmtest.Response) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range answer(body).Events {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, ev.Data)
		}
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// benchChat posts body as the user until b.N requests are answered with 200.
func benchChat(b *testing.B, s *testutil.Server, bearer map[string]string, body string) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/chat/completions", strings.NewReader(body))
		for k, v := range bearer {
			req.Header.Set(k, v)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte("Hello")) {
			b.Fatalf("%d %s", resp.StatusCode, raw)
		}
	}
}

// BenchmarkChatPlainRequest is one non-streamed chat request without tools or a session, end to
// end through the router and a pause-free fake upstream: what a request that uses no MCP tool
// costs (compare it before and after the tool loop with benchstat).
func BenchmarkChatPlainRequest(b *testing.B) {
	url := benchUpstream(b, func([]byte) llmtest.Response { return llmtest.TextStream("msg_p", chatModel, "Hello", ", world") })
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) { c.AnthropicBaseURL, c.AnthropicAPIKey = url, "k" }))
	u := s.Register(b, "bench-plain@example.com")
	benchChat(b, s, u.Bearer(), `{"model":"`+chatModel+`","messages":[{"role":"user","content":"Say hello"}]}`)
}
