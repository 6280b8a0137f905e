package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkChatThroughputLimited is BenchmarkChatThroughput's access-token load with the chat
// limits on, as a deployment runs them: a token budget (too large to refuse anything during the
// run) and a concurrent-generation cap (above the 32 clients), so that the Redis work of the
// budget reserve and settle and of the generation slot is timed too.
//
//	go test -run '^$' -bench BenchmarkChatThroughputLimited -benchtime=5000x ./internal/httpapi/
func BenchmarkChatThroughputLimited(b *testing.B) {
	up := newInstantUpstream(b)
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = up.URL, "sk-ant-bench"
		c.RateLimitDefault = testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
		c.RateLimitTokens = &testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
		c.MaxConcurrentGenerations = 2 * throughputClients
	}))
	user := s.Register(b, "chat-throughput-limited@example.com")
	const body = `{"model":"` + chatModel + `","max_tokens":256,"stream":false,"messages":[{"role":"user","content":"Say hello."}]}`
	auth := map[string]string{"Authorization": "Bearer " + user.AccessToken}
	if resp, raw := s.Do(b, http.MethodPost, "/v1/chat/completions", body, auth); resp.StatusCode != http.StatusOK ||
		!strings.Contains(string(raw), instantUpstreamText) || resp.Header.Get("RateLimit-Policy") == "" {
		b.Fatalf("POST /v1/chat/completions = %d %v: %s", resp.StatusCode, resp.Header, raw)
	}
	procs := findBenchProcesses(b, s)
	measureThroughput(b, procs, s.URL+"/v1/chat/completions", body, auth["Authorization"])
}
