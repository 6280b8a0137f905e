package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// newMCPServer registers a server through the API and returns it.
func newMCPServer(t *testing.T, s *testutil.Server, u testutil.Session, body string) api.MCPServer {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/mcp/servers", body, u.Bearer())
	return decodeInto[api.MCPServer](t, resp, raw, http.StatusCreated)
}

func TestMCPServersCRUDAndETags(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "mcp-crud@example.com")
	const long, short = "Bearer sk-0123456789abcdef-a1b2", "tiny"
	srv := newMCPServer(t, s, u, fmt.Sprintf(`{"name":"docs","transport":"streamable_http","url":"https://mcp.example.com/mcp",
		"headers":{"Authorization":%q,"X-Team":%q},"tool_allowlist":["echo"]}`, long, short))
	if srv.Version != 1 || srv.Scope != api.MCPScope("user") || !srv.Enabled || srv.Url == nil || *srv.Url != "https://mcp.example.com/mcp" ||
		srv.ToolAllowlist == nil || len(*srv.ToolAllowlist) != 1 || len(srv.Args) != 0 || srv.Command != nil {
		t.Fatalf("created %+v", srv)
	}
	want := []api.MCPHeaderHint{{Name: "Authorization", Hint: "••••a1b2"}, {Name: "X-Team", Hint: "••••"}}
	if fmt.Sprint(srv.Headers) != fmt.Sprint(want) {
		t.Errorf("headers %v, want %v", srv.Headers, want)
	}
	path := "/v1/mcp/servers/" + srv.Id.String()
	resp, raw := s.Do(t, http.MethodGet, path, nil, u.Bearer())
	if got := decodeInto[api.MCPServer](t, resp, raw, http.StatusOK); got.Name != "docs" || resp.Header.Get("ETag") != `"1"` {
		t.Fatalf("get %+v ETag %q", got, resp.Header.Get("ETag"))
	}
	// PATCH merges headers by name: X-Team removed (case-insensitively), a new one added, Authorization kept.
	resp, raw = s.Do(t, http.MethodPatch, path, `{"name":"docs 2","headers":{"x-team":null,"X-New":"0123456789abcdefWXYZ"},"tool_allowlist":null,"enabled":false}`,
		with(u.Bearer(), "If-Match", `"1"`))
	p := decodeInto[api.MCPServer](t, resp, raw, http.StatusOK)
	want = []api.MCPHeaderHint{{Name: "Authorization", Hint: "••••a1b2"}, {Name: "X-New", Hint: "••••WXYZ"}}
	if p.Name != "docs 2" || p.Enabled || p.ToolAllowlist != nil || fmt.Sprint(p.Headers) != fmt.Sprint(want) || resp.Header.Get("ETag") != `"2"` {
		t.Fatalf("patched %+v ETag %q", p, resp.Header.Get("ETag"))
	}
	server, err := s.App.MCP.Target(t.Context(), uuid.MustParse(u.UserID), srv.Id)
	if err != nil || server.Headers["Authorization"] != long || server.Headers["X-New"] != "0123456789abcdefWXYZ" || len(server.Headers) != 2 {
		t.Fatalf("opened headers after the merge: %v (%d), %v", err, len(server.Headers), server.Headers["Authorization"] == long)
	}
	// A disabled server is not offered to chats.
	if _, err := s.App.MCP.Resolve(t.Context(), uuid.MustParse(u.UserID), srv.Id); err == nil {
		t.Error("Resolve returned a disabled server")
	}
	// A stale If-Match changes nothing.
	for _, m := range []struct{ method, body string }{{http.MethodPatch, `{"name":"stale"}`}, {http.MethodDelete, ""}} {
		var b any
		if m.body != "" {
			b = m.body
		}
		resp, raw := s.Do(t, m.method, path, b, with(u.Bearer(), "If-Match", `"1"`))
		decodeProblem(t, resp, raw, http.StatusPreconditionFailed)
	}
	// Switching transport needs the new transport's fields.
	resp, raw = s.Do(t, http.MethodPatch, path, `{"url":"ftp://example.com/x"}`, u.Bearer())
	if pr := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(pr) != "/url" {
		t.Errorf("ftp URL: %+v", pr.Errors)
	}
	resp, raw = s.Do(t, http.MethodPatch, path, `{"url":"https://user:pw@example.com/mcp"}`, u.Bearer())
	if pr := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(pr) != "/url" {
		t.Errorf("URL with credentials: %+v", pr.Errors)
	}
	resp, raw = s.Do(t, http.MethodPatch, path, `{"transport":"sse","url":"http://mcp.example.com/sse"}`, u.Bearer())
	if got := decodeInto[api.MCPServer](t, resp, raw, http.StatusOK); got.Transport != "sse" || got.Version != 3 {
		t.Fatalf("to sse: %+v", got)
	}
	// Names are unique per owner.
	resp, raw = s.Do(t, http.MethodPost, "/v1/mcp/servers", `{"name":"docs 2","transport":"sse","url":"http://a.example/sse"}`, u.Bearer())
	decodeProblem(t, resp, raw, http.StatusConflict)
	resp, raw = s.Do(t, http.MethodDelete, path, nil, with(u.Bearer(), "If-Match", `"3"`))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d %s", resp.StatusCode, raw)
	}
	resp, raw = s.Do(t, http.MethodGet, path, nil, u.Bearer())
	decodeProblem(t, resp, raw, http.StatusNotFound)
	var audits int
	if err := s.App.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action LIKE 'mcp.server_%'`, u.UserID).Scan(&audits); err != nil || audits != 4 {
		t.Errorf("audit entries %d (%v), want 4 (create, 2 updates, delete)", audits, err)
	}
}

func TestMCPServerValidation(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "mcp-valid@example.com")
	cases := []struct{ name, body, pointer string }{
		{"no url", `{"name":"x","transport":"streamable_http"}`, "/url"},
		{"bad transport", `{"name":"x","transport":"websocket","url":"https://a.example"}`, "/transport"},
		{"reserved header", `{"name":"x","transport":"sse","url":"https://a.example","headers":{"Host":"evil"}}`, "/headers/Host"},
		{"header value with newline", `{"name":"x","transport":"sse","url":"https://a.example","headers":{"X-A":"a\r\nB: c"}}`, "/headers/X-A"},
		{"header name not a token", `{"name":"x","transport":"sse","url":"https://a.example","headers":{"X A":"v"}}`, "/headers/X A"},
		{"command on http", `{"name":"x","transport":"sse","url":"https://a.example","command":"ls"}`, "/command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := s.Do(t, http.MethodPost, "/v1/mcp/servers", tc.body, u.Bearer())
			if p := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(p) != tc.pointer {
				t.Errorf("errors %v, want pointer %s", fieldErrors(p), tc.pointer)
			}
		})
	}
	// A project must be the caller's.
	other := s.Register(t, "mcp-valid-other@example.com")
	pr := newProject(t, s, other, `{"name":"theirs"}`)
	resp, raw := s.Do(t, http.MethodPost, "/v1/mcp/servers", fmt.Sprintf(`{"name":"x","transport":"sse","url":"https://a.example","project_id":%q}`, pr.Id), u.Bearer())
	decodeProblem(t, resp, raw, http.StatusNotFound)
	mine := newProject(t, s, u, `{"name":"mine"}`)
	srv := newMCPServer(t, s, u, fmt.Sprintf(`{"name":"x","transport":"sse","url":"https://a.example","project_id":%q}`, mine.Id))
	if srv.ProjectId == nil || *srv.ProjectId != mine.Id {
		t.Errorf("project_id %v", srv.ProjectId)
	}
}

func TestMCPServersListAndIdempotentCreate(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "mcp-list@example.com")
	other := s.Register(t, "mcp-list-other@example.com")
	admin := s.Admin(t, "mcp-list-admin@example.com")
	for i := range 5 {
		newMCPServer(t, s, u, fmt.Sprintf(`{"name":"own %d","transport":"sse","url":"https://a.example/%d"}`, i, i))
	}
	newMCPServer(t, s, other, `{"name":"theirs","transport":"sse","url":"https://b.example"}`)
	for i := range 2 {
		newMCPServer(t, s, admin, fmt.Sprintf(`{"name":"global %d","transport":"sse","url":"https://g.example/%d","scope":"global"}`, i, i))
	}
	walk := func(who testutil.Session) []api.MCPServer {
		var all []api.MCPServer
		cursor := ""
		for range 10 {
			path := "/v1/mcp/servers?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			resp, raw := s.Do(t, http.MethodGet, path, nil, who.Bearer())
			pg := decodeInto[api.MCPServerList](t, resp, raw, http.StatusOK)
			all = append(all, pg.Data...)
			if !pg.HasMore {
				return all
			}
			cursor = *pg.NextCursor
		}
		t.Fatal("the list did not end")
		return nil
	}
	got := walk(u)
	var names []string
	for _, srv := range got {
		names = append(names, srv.Name)
	}
	if fmt.Sprint(names) != "[global 1 global 0 own 4 own 3 own 2 own 1 own 0]" {
		t.Errorf("list = %v", names)
	}
	if theirs := walk(other); len(theirs) != 3 {
		t.Errorf("the other user sees %d servers, want theirs + 2 global", len(theirs))
	}
	// Another user's cursor does not work.
	resp, raw := s.Do(t, http.MethodGet, "/v1/mcp/servers?limit=1", nil, u.Bearer())
	next := decodeInto[api.MCPServerList](t, resp, raw, http.StatusOK).NextCursor
	resp, raw = s.Do(t, http.MethodGet, "/v1/mcp/servers?cursor="+*next, nil, other.Bearer())
	decodeProblem(t, resp, raw, http.StatusBadRequest)

	// Idempotent create: the retry replays the first answer, nothing is created twice.
	body := `{"name":"idem","transport":"sse","url":"https://i.example","headers":{"Authorization":"Bearer idempotent-secret-value-0001"}}`
	first, raw1 := s.Do(t, http.MethodPost, "/v1/mcp/servers", body, with(u.Bearer(), "Idempotency-Key", "mcp-create-1"))
	a := decodeInto[api.MCPServer](t, first, raw1, http.StatusCreated)
	again, raw2 := s.Do(t, http.MethodPost, "/v1/mcp/servers", body, with(u.Bearer(), "Idempotency-Key", "mcp-create-1"))
	b := decodeInto[api.MCPServer](t, again, raw2, http.StatusCreated)
	if a.Id != b.Id || again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("ETag") != `"1"` {
		t.Errorf("replay: ids %s / %s, replayed %q", a.Id, b.Id, again.Header.Get("Idempotent-Replayed"))
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/mcp/servers", `{"name":"idem 2","transport":"sse","url":"https://i.example"}`, with(u.Bearer(), "Idempotency-Key", "mcp-create-1"))
	decodeProblem(t, resp, raw, http.StatusUnprocessableEntity)
	var n int
	if err := s.App.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM mcp_servers WHERE name LIKE 'idem%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d idem servers (%v)", n, err)
	}
}
