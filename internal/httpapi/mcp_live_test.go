package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// withLoopbackMCP opens loopback to the SSRF guard, where the tests' server-everything listens.
func withLoopbackMCP(stdio bool) testutil.Option {
	return testutil.WithConfig(func(c *testutil.Config) {
		c.MCP.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.MCP.AllowStdio = stdio
	})
}

// TestMCPLiveServer drives test, tools and call against a real server-everything over each HTTP
// transport, and over stdio for an administrator on a deployment that allows it.
func TestMCPLiveServer(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, withLoopbackMCP(true))
	u := s.Register(t, "mcp-live@example.com")
	admin := s.Admin(t, "mcp-live-admin@example.com")
	bodies := map[string]struct {
		who  testutil.Session
		body string
	}{}
	for _, transport := range []string{"streamable_http", "sse"} {
		es := testutil.StartMCPServer(t, transport)
		bodies[transport] = struct {
			who  testutil.Session
			body string
		}{u, fmt.Sprintf(`{"name":%q,"transport":%q,"url":%q,"headers":{"Authorization":"Bearer live-test-secret-0123456789"}}`, transport, transport, es.URL)}
	}
	command, args, _ := testutil.MCPStdioCommand(t)
	argsJSON, _ := json.Marshal(args)
	bodies["stdio"] = struct {
		who  testutil.Session
		body string
	}{admin, fmt.Sprintf(`{"name":"stdio","transport":"stdio","command":%q,"args":%s}`, command, argsJSON)}
	for transport, b := range bodies {
		t.Run(transport, func(t *testing.T) {
			srv := newMCPServer(t, s, b.who, b.body)
			path := "/v1/mcp/servers/" + srv.Id.String()
			resp, raw := s.Do(t, http.MethodPost, path+"/test", nil, b.who.Bearer())
			info := decodeInto[api.MCPServerTest](t, resp, raw, http.StatusOK)
			if !bool(info.Ok) || info.ToolCount == 0 || info.ProtocolVersion == "" || info.ServerInfo.Name == "" {
				t.Fatalf("test: %+v", info)
			}
			for _, q := range []string{"", "?refresh=true"} {
				resp, raw = s.Do(t, http.MethodGet, path+"/tools"+q, nil, b.who.Bearer())
				tools := decodeInto[api.MCPToolList](t, resp, raw, http.StatusOK)
				names := map[string]api.MCPTool{}
				for _, tool := range tools.Data {
					names[tool.Name] = tool
				}
				if echo, ok := names["echo"]; !ok || echo.InputSchema["type"] != "object" || len(tools.Data) != info.ToolCount {
					t.Fatalf("tools%s: %d tools, echo %+v", q, len(tools.Data), echo)
				}
			}
			resp, raw = s.Do(t, http.MethodPost, path+"/tools/echo/call", `{"arguments":{"message":"hello from the test"}}`, b.who.Bearer())
			res := decodeInto[api.MCPToolResult](t, resp, raw, http.StatusOK)
			if res.IsError || len(res.Content) == 0 || res.Content[0].Type != "text" ||
				!strings.Contains(fmt.Sprint(res.Content[0].AdditionalProperties["text"]), "hello from the test") {
				t.Fatalf("echo: %s", raw)
			}
			resp, raw = s.Do(t, http.MethodPost, path+"/tools/get-sum/call", `{"arguments":{"a":2,"b":40}}`, b.who.Bearer())
			if res := decodeInto[api.MCPToolResult](t, resp, raw, http.StatusOK); !strings.Contains(string(raw), "42") || res.IsError {
				t.Errorf("get-sum: %s", raw)
			}
			// Arguments failing the input schema never reach the server.
			resp, raw = s.Do(t, http.MethodPost, path+"/tools/echo/call", `{"arguments":{"message":5}}`, b.who.Bearer())
			if p := decodeProblem(t, resp, raw, http.StatusBadRequest); !strings.HasPrefix(firstPointer(p), "/arguments") {
				t.Errorf("bad arguments: %v", fieldErrors(p))
			}
			resp, raw = s.Do(t, http.MethodPost, path+"/tools/no-such-tool/call", `{}`, b.who.Bearer())
			if p := decodeProblem(t, resp, raw, http.StatusNotFound); p.Code != "mcp_tool_not_found" {
				t.Errorf("unknown tool: %s", p.Code)
			}
		})
	}
	// An allowlist hides the other tools.
	es := testutil.StartMCPServer(t, "streamable_http")
	limited := newMCPServer(t, s, u, fmt.Sprintf(`{"name":"limited","transport":"streamable_http","url":%q,"tool_allowlist":["echo"]}`, es.URL))
	resp, raw := s.Do(t, http.MethodGet, "/v1/mcp/servers/"+limited.Id.String()+"/tools", nil, u.Bearer())
	if tools := decodeInto[api.MCPToolList](t, resp, raw, http.StatusOK); len(tools.Data) != 1 || tools.Data[0].Name != "echo" {
		t.Errorf("allowlisted tools: %+v", tools.Data)
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/mcp/servers/"+limited.Id.String()+"/tools/get-sum/call", `{"arguments":{"a":1,"b":2}}`, u.Bearer())
	decodeProblem(t, resp, raw, http.StatusNotFound)
	assertDirectCallsAudited(t, s)
}

// assertDirectCallsAudited: every direct call that reached a server is in the audit log with its
// outcome (echo and get-sum on three transports succeeded; three unknown tools and one outside
// the allowlist failed), the schema-refused ones are not, and no argument is.
func assertDirectCallsAudited(t *testing.T, s *testutil.Server) {
	t.Helper()
	var succeeded, failed int
	var all string
	err := s.App.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE outcome = 'success' AND details->>'status' = 'completed'),
		count(*) FILTER (WHERE outcome = 'failure' AND details->>'status' = 'failed'), coalesce(string_agg(details::text, ' '), '')
		FROM audit_log WHERE action = 'mcp.tool_call'`).Scan(&succeeded, &failed, &all)
	if err != nil {
		t.Fatal(err)
	}
	if succeeded != 6 || failed != 4 || strings.Contains(all, "hello from the test") {
		t.Errorf("audited direct calls: %d completed, %d failed (want 6 and 4): %s", succeeded, failed, all)
	}
}

// TestMCPRefusedAddress: without the loopback range opened, a server on 127.0.0.1 is refused by
// the SSRF guard with mcp_address_not_allowed (and nothing is dialled).
func TestMCPRefusedAddress(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "mcp-ssrf@example.com")
	es := testutil.StartMCPServer(t, "streamable_http")
	srv := newMCPServer(t, s, u, fmt.Sprintf(`{"name":"local","transport":"streamable_http","url":%q}`, es.URL))
	resp, raw := s.Do(t, http.MethodPost, "/v1/mcp/servers/"+srv.Id.String()+"/test", nil, u.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusUnprocessableEntity); p.Code != "mcp_address_not_allowed" {
		t.Errorf("code %s", p.Code)
	}
	// A port nobody listens on, with loopback allowed: unreachable.
	open := testutil.NewServer(t, withLoopbackMCP(false))
	v := open.Register(t, "mcp-ssrf-open@example.com")
	dead := newMCPServer(t, open, v, `{"name":"dead","transport":"streamable_http","url":"http://127.0.0.1:9/mcp"}`)
	resp, raw = open.Do(t, http.MethodPost, "/v1/mcp/servers/"+dead.Id.String()+"/test", nil, v.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusBadGateway); p.Code != "mcp_unreachable" {
		t.Errorf("code %s", p.Code)
	}
}
