package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// requestLine is the request log line of the request with id rid.
func requestLine(t *testing.T, s *testutil.Server, rid string) map[string]any {
	t.Helper()
	for _, line := range s.Info.Lines() {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" && m["request_id"] == rid {
			return m
		}
	}
	t.Fatalf("no request log line for request %s", rid)
	return nil
}

// TestRequestLogFields: the JSON request line names the request, the caller by user id (never
// the email), the route as the spec's template, the status, the latency and, for a chat, the
// upstream's request id.
func TestRequestLogFields(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	s, u := env.s, env.user
	env.fake.Enqueue(llmtest.TextStream("msg_log", chatModel, "Hi"))
	resp, body := s.Do(t, http.MethodPost, "/v1/chat/completions",
		`{"model":"`+chatModel+`","messages":[{"role":"user","content":"hi"}]}`, u.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	line := requestLine(t, s, resp.Header.Get("X-Request-ID"))
	want := map[string]any{"route": "/v1/chat/completions", "status": float64(200), "user_id": u.UserID,
		"upstream_request_id": llmtest.RequestID(1), "method": "POST"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("request log %s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
	if _, ok := line["latency_ms"].(float64); !ok {
		t.Errorf("request log without latency_ms: %v", line)
	}
	raw, _ := json.Marshal(line)
	if strings.Contains(string(raw), u.Email) {
		t.Errorf("request log names the email: %s", raw)
	}

	resp, _ = s.Do(t, http.MethodGet, "/v1/sessions/00000000-0000-4000-8000-000000000000", nil, u.Bearer())
	if line := requestLine(t, s, resp.Header.Get("X-Request-ID")); line["route"] != "/v1/sessions/{id}" || line["status"] != float64(404) {
		t.Errorf("route %v status %v, want the spec's template and 404", line["route"], line["status"])
	}
}
