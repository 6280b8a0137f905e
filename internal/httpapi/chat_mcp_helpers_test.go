package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// mcpChatEnv is a chat environment with a real server-everything registered as "everything"
// (so the model sees its tools as everything__<tool>), reachable because loopback is allowed.
type mcpChatEnv struct {
	chatEnv
	mcp    *testutil.MCPServer
	server api.MCPServer
}

func newMCPChatEnv(t *testing.T, adjust func(*testutil.Config)) mcpChatEnv {
	t.Helper()
	env := newChatEnvWith(t, func(c *testutil.Config) {
		c.MCP.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		adjust(c)
	})
	srv := testutil.StartMCPServer(t, "streamable_http")
	reg := newMCPServer(t, env.s, env.user, `{"name":"everything","transport":"streamable_http","url":"`+srv.URL+`"}`)
	return mcpChatEnv{chatEnv: env, mcp: srv, server: reg}
}

// sessionWithTools is a new session with every tool of the environment's server enabled.
func (e mcpChatEnv) sessionWithTools(t *testing.T) api.Session {
	t.Helper()
	sess := newSession(t, e.s, e.user, `{"title":"mcp"}`)
	resp, raw := e.s.Do(t, http.MethodPut, "/v1/sessions/"+sess.Id.String()+"/tools",
		`{"enabled_servers":["`+e.server.Id.String()+`"],"enabled_tools":[]}`, e.user.Bearer())
	decodeInto[api.SessionTools](t, resp, raw, http.StatusOK)
	return sess
}

// toolCalls is the session's tool-calls list, newest first.
func (e mcpChatEnv) toolCalls(t *testing.T, session string) []api.MCPToolCall {
	t.Helper()
	resp, raw := e.s.Do(t, http.MethodGet, "/v1/sessions/"+session+"/tool-calls", nil, e.user.Bearer())
	return decodeInto[api.MCPToolCallList](t, resp, raw, http.StatusOK).Data
}

// messages is the session's stored messages in order.
func (e mcpChatEnv) messages(t *testing.T, session string) []api.Message {
	t.Helper()
	resp, raw := e.s.Do(t, http.MethodGet, "/v1/sessions/"+session+"/messages", nil, e.user.Bearer())
	return decodeInto[api.MessageList](t, resp, raw, http.StatusOK).Data
}

// upstreamBlock is a content block the fake upstream received.
type upstreamBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	IsError   bool            `json:"is_error"`
	Content   []upstreamBlock `json:"content"`
}

// upstreamMessages decodes the messages of an upstream request body.
func upstreamMessages(t *testing.T, raw []byte) []struct {
	Role    string          `json:"role"`
	Content []upstreamBlock `json:"content"`
} {
	t.Helper()
	var up struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content []upstreamBlock `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &up); err != nil {
		t.Fatalf("upstream body %s: %v", raw, err)
	}
	return up.Messages
}

// toolResults are the tool_result blocks of an upstream request, by tool_use id, with their text.
func toolResults(t *testing.T, raw []byte) map[string]upstreamBlock {
	t.Helper()
	out := map[string]upstreamBlock{}
	for _, m := range upstreamMessages(t, raw) {
		for _, b := range m.Content {
			if b.Type == "tool_result" {
				for _, c := range b.Content {
					b.Text += c.Text
				}
				out[b.ToolUseID] = b
			}
		}
	}
	return out
}

// toolChunks are the ccb_tool members of a stream's events, in order.
func toolChunks(t *testing.T, events []string) []api.ChatToolEvent {
	t.Helper()
	var out []api.ChatToolEvent
	for _, data := range events {
		var c api.ChatCompletionChunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			continue // a ChatStreamError
		}
		if c.Tool != nil {
			if len(c.Choices) != 0 {
				t.Errorf("a ccb_tool chunk with choices: %s", data)
			}
			out = append(out, *c.Tool)
		}
	}
	return out
}

// auditedToolCalls is the details of every mcp.tool_call audit entry, as JSON text.
func auditedToolCalls(t *testing.T, s *testutil.Server) []string {
	t.Helper()
	rows, err := s.App.Store.Pool.Query(context.Background(), "SELECT details::text FROM audit_log WHERE action = 'mcp.tool_call' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func contentText(m api.Message) string {
	var s string
	b, _ := json.Marshal(m.Content)
	_ = json.Unmarshal(b, &s)
	return strings.TrimSpace(s)
}

func decodeChunk(t *testing.T, data string) api.ChatCompletionChunk {
	t.Helper()
	var c api.ChatCompletionChunk
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		t.Fatalf("chunk %s: %v", data, err)
	}
	return c
}
