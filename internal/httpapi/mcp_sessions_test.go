package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/mcp"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestMCPSessionTools(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "mcp-session@example.com")
	user := uuid.MustParse(u.UserID)
	admin := s.Admin(t, "mcp-session-admin@example.com")
	a := newMCPServer(t, s, u, `{"name":"a","transport":"sse","url":"https://a.example/sse"}`)
	b := newMCPServer(t, s, u, `{"name":"b","transport":"sse","url":"https://b.example/sse"}`)
	g := newMCPServer(t, s, admin, `{"name":"g","transport":"sse","url":"https://g.example/sse","scope":"global"}`)
	sess := newSession(t, s, u, `{"title":"tools"}`)
	path := "/v1/sessions/" + sess.Id.String() + "/tools"

	resp, raw := s.Do(t, http.MethodGet, path, nil, u.Bearer())
	if got := decodeInto[api.SessionTools](t, resp, raw, http.StatusOK); len(got.EnabledServers) != 0 || len(got.EnabledTools) != 0 {
		t.Fatalf("a new session's selection: %+v", got)
	}
	put := fmt.Sprintf(`{"enabled_servers":[%q,%q,%q],"enabled_tools":["%s/echo","%s/get-sum"]}`, b.Id, a.Id, g.Id, a.Id, a.Id)
	resp, raw = s.Do(t, http.MethodPut, path, put, u.Bearer())
	stored := decodeInto[api.SessionTools](t, resp, raw, http.StatusOK)
	want := api.SessionTools{EnabledServers: []uuid.UUID{b.Id, a.Id, g.Id}, EnabledTools: []string{a.Id.String() + "/echo", a.Id.String() + "/get-sum"}}
	if fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Fatalf("stored %+v, want %+v", stored, want)
	}
	resp, raw = s.Do(t, http.MethodGet, path, nil, u.Bearer())
	if got := decodeInto[api.SessionTools](t, resp, raw, http.StatusOK); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read back %+v", got)
	}
	// What a chat turn gets leaves out disabled servers; a deleted server leaves the selection.
	resp, raw = s.Do(t, http.MethodPatch, "/v1/mcp/servers/"+b.Id.String(), `{"enabled":false}`, u.Bearer())
	decodeInto[api.MCPServer](t, resp, raw, http.StatusOK)
	set, err := s.App.MCP.SessionToolSet(t.Context(), user, sess.Id)
	if err != nil || fmt.Sprint(set.Servers) != fmt.Sprint([]uuid.UUID{a.Id, g.Id}) || len(set.Tools) != 2 {
		t.Errorf("tool set %+v, %v", set, err)
	}
	resp, _ = s.Do(t, http.MethodDelete, "/v1/mcp/servers/"+g.Id.String(), nil, admin.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete global = %d", resp.StatusCode)
	}
	resp, raw = s.Do(t, http.MethodGet, path, nil, u.Bearer())
	if got := decodeInto[api.SessionTools](t, resp, raw, http.StatusOK); len(got.EnabledServers) != 2 {
		t.Errorf("after deleting g: %+v", got)
	}
	if _, err := s.App.MCP.SessionToolSet(t.Context(), uuid.MustParse(admin.UserID), sess.Id); err == nil {
		t.Error("another user's session gave a tool set")
	}
	bad := []struct{ name, body, pointer string }{
		{"tool of an unselected server", fmt.Sprintf(`{"enabled_servers":[%q],"enabled_tools":["%s/echo"]}`, a.Id, b.Id), "/enabled_tools/0"},
		{"tool without a name", fmt.Sprintf(`{"enabled_servers":[%q],"enabled_tools":["%s/"]}`, a.Id, a.Id), "/enabled_tools/0"},
		{"unknown server", fmt.Sprintf(`{"enabled_servers":[%q,%q],"enabled_tools":[]}`, a.Id, uuid.New()), "/enabled_servers/1"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := s.Do(t, http.MethodPut, path, tc.body, u.Bearer())
			if p := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(p) != tc.pointer {
				t.Errorf("errors %v, want %s", fieldErrors(p), tc.pointer)
			}
		})
	}
	// A refused PUT left the selection as it was.
	resp, raw = s.Do(t, http.MethodGet, path, nil, u.Bearer())
	if got := decodeInto[api.SessionTools](t, resp, raw, http.StatusOK); len(got.EnabledServers) != 2 || len(got.EnabledTools) != 2 {
		t.Errorf("after refused PUTs: %+v", got)
	}
}

func TestMCPSessionToolCallsNewestFirst(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "mcp-calls@example.com")
	user := uuid.MustParse(u.UserID)
	sess := newSession(t, s, u, `{"title":"calls"}`)
	other := newSession(t, s, u, `{"title":"other"}`)
	server := uuid.New()
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	statuses := []string{mcp.StatusCompleted, mcp.StatusFailed, mcp.StatusTimeout, mcp.StatusCancelled, mcp.StatusCompleted}
	for i, st := range statuses {
		rec := mcp.ToolCallRecord{UserID: user, SessionID: sess.Id, ServerID: server, Tool: fmt.Sprintf("tool-%d", i),
			Arguments: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Status: st, IsError: st != mcp.StatusCompleted,
			Duration: time.Duration(i) * time.Millisecond, CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if i%2 == 0 {
			rec.Result = json.RawMessage(`{"content":[{"type":"text","text":"ok"}]}`)
		}
		if err := s.App.MCP.RecordToolCall(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.App.MCP.RecordToolCall(t.Context(), mcp.ToolCallRecord{UserID: user, SessionID: other.Id, ServerID: server, Tool: "elsewhere", Status: mcp.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	// Another user's session is NotFound, and nothing is recorded.
	eve := s.Register(t, "mcp-calls-eve@example.com")
	if err := s.App.MCP.RecordToolCall(t.Context(), mcp.ToolCallRecord{UserID: uuid.MustParse(eve.UserID), SessionID: sess.Id, ServerID: server, Tool: "x", Status: mcp.StatusCompleted}); err == nil {
		t.Error("recorded a call into another user's session")
	}
	var tools []string
	cursor := ""
	for range 5 {
		p := "/v1/sessions/" + sess.Id.String() + "/tool-calls?limit=2"
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		resp, raw := s.Do(t, http.MethodGet, p, nil, u.Bearer())
		pg := decodeInto[api.MCPToolCallList](t, resp, raw, http.StatusOK)
		for _, c := range pg.Data {
			tools = append(tools, c.Tool)
			if c.ServerId != server || c.Arguments["n"] == nil || (c.Result != nil) != (c.Status == api.MCPToolCallStatus(mcp.StatusCompleted) || c.Tool == "tool-2") {
				t.Errorf("call %+v", c)
			}
		}
		if !pg.HasMore {
			break
		}
		cursor = *pg.NextCursor
	}
	if fmt.Sprint(tools) != "[tool-4 tool-3 tool-2 tool-1 tool-0]" {
		t.Errorf("tool calls %v, want newest first", tools)
	}
	resp, raw := s.Do(t, http.MethodGet, "/v1/sessions/"+other.Id.String()+"/tool-calls?cursor="+cursor, nil, u.Bearer())
	if cursor != "" {
		decodeProblem(t, resp, raw, http.StatusBadRequest) // a cursor of another session's list
	}
	// Deleting the session deletes its calls.
	if resp, _ := s.Do(t, http.MethodDelete, "/v1/sessions/"+sess.Id.String(), nil, u.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete session = %d", resp.StatusCode)
	}
	var left int
	if err := s.App.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM tool_calls WHERE session_id = $1`, sess.Id).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d calls left (%v)", left, err)
	}
}
