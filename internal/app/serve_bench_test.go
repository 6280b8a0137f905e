package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

// BenchmarkServedPaths measures the authenticated list path and a chat stream through the real
// server (app.Serve: its http.Server, deadlines and per-IP listener), so the cost of the
// connection limits shows up; compare against a build of the old serve.go.
func BenchmarkServedPaths(b *testing.B) {
	fake := llmtest.NewFakeAnthropic(b)
	s := serve(b, func(c *config.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey, c.LLMRetryBase = fake.URL, "sk-ant-test", time.Millisecond
	})
	token := s.token(b)
	for i := range 50 {
		var out struct{}
		s.postJSON(b, "/v1/projects", token, fmt.Sprintf(`{"name":"project %d","settings":{"theme":"dark"}}`, i), http.StatusCreated, &out)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(b *testing.B, method, path, body string) {
		req, _ := http.NewRequest(method, s.url(path), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s = %d", method, path, resp.StatusCode)
		}
	}
	b.Run("list", func(b *testing.B) {
		for b.Loop() {
			get(b, http.MethodGet, "/v1/projects?limit=50", "")
		}
	})
	words := strings.Fields(strings.Repeat("word ", 40))
	b.Run("stream", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			fake.Enqueue(llmtest.TextStream("msg", "claude-sonnet-4-5", words...))
			b.StartTimer()
			get(b, http.MethodPost, "/v1/chat/completions", `{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		}
	})
}
