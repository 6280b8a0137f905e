package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkChatMCPToolStep measures what one MCP tool step adds to a chat turn, against its
// parts measured directly: "chat-plain" is a one-step turn; "chat-tool-step" the same turn with
// one step more, in which the model calls server-everything's echo; "upstream-direct" one
// upstream step through the provider alone; "mcp-direct" the echo call through the pool alone.
// The loop's own cost per tool step is chat-tool-step − chat-plain − upstream-direct − mcp-direct.
func BenchmarkChatMCPToolStep(b *testing.B) {
	url := benchUpstream(b, func(body []byte) llmtest.Response {
		if bytes.Contains(body, []byte(`"tool_result"`)) || !bytes.Contains(body, []byte(`everything__echo`)) {
			return llmtest.TextStream("msg_b2", chatModel, "Hello", ", world")
		}
		return llmtest.ToolUseStream("msg_b1", chatModel, "toolu_b", "everything__echo", `{"message":"bench"}`)
	})
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = url, "k"
		c.MCP.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}))
	u := s.Register(b, "bench-mcp@example.com")
	mcpSrv := testutil.StartMCPServer(b, "streamable_http")
	resp, raw := s.Do(b, http.MethodPost, "/v1/mcp/servers", `{"name":"everything","transport":"streamable_http","url":"`+mcpSrv.URL+`"}`, u.Bearer())
	var reg api.MCPServer
	if err := json.Unmarshal(raw, &reg); err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("register %d %s", resp.StatusCode, raw)
	}
	ask := `{"model":"` + chatModel + `","messages":[{"role":"user","content":"Say hello"}]`

	b.Run("chat-plain", func(b *testing.B) { benchChat(b, s, u.Bearer(), ask+`}`) })
	b.Run("chat-tool-step", func(b *testing.B) { benchChat(b, s, u.Bearer(), ask+`,"mcp_servers":["`+reg.Id.String()+`"]}`) })
	b.Run("upstream-direct", func(b *testing.B) {
		p := llm.NewAnthropic("k", url, nil)
		req := llm.Request{Model: chatModel, MaxTokens: 100, Messages: []llm.Message{{Role: llm.User, Parts: []llm.Part{{Kind: llm.Text, Text: "Say hello"}}}}}
		b.ReportAllocs()
		for b.Loop() {
			st, err := p.Stream(b.Context(), req)
			if err != nil {
				b.Fatal(err)
			}
			for st.Next() {
			}
			if err := st.Err(); err != nil {
				b.Fatal(err)
			}
			_ = st.Close()
		}
	})
	b.Run("mcp-direct", func(b *testing.B) {
		user := uuid.MustParse(u.UserID)
		srv, err := s.App.MCP.Resolve(b.Context(), user, reg.Id)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if res, err := s.App.MCPPool.Call(b.Context(), user, srv, "echo", json.RawMessage(`{"message":"bench"}`)); err != nil || res.IsError {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})
}
