package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestMCPOtherUsersResourcesAreNotFound: every MCP route answers another user's server or
// session exactly as a missing one.
func TestMCPOtherUsersResourcesAreNotFound(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "mcp-owner@example.com")
	eve := s.Register(t, "mcp-eve@example.com")
	srv := newMCPServer(t, s, owner, `{"name":"mine","transport":"sse","url":"https://a.example/sse"}`)
	sess := newSession(t, s, owner, `{"title":"t"}`)
	evesSession := newSession(t, s, eve, `{"title":"e"}`)
	server := "/v1/mcp/servers/" + srv.Id.String()
	session := "/v1/sessions/" + sess.Id.String()
	cases := []struct{ method, path, body string }{
		{http.MethodGet, server, ""},
		{http.MethodPatch, server, `{"name":"stolen"}`},
		{http.MethodDelete, server, ""},
		{http.MethodPost, server + "/test", ""},
		{http.MethodGet, server + "/tools", ""},
		{http.MethodPost, server + "/tools/echo/call", `{"arguments":{}}`},
		{http.MethodGet, session + "/tools", ""},
		{http.MethodPut, session + "/tools", `{"enabled_servers":[],"enabled_tools":[]}`},
		{http.MethodGet, session + "/tool-calls", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			resp, raw := s.Do(t, tc.method, tc.path, body, eve.Bearer())
			decodeProblem(t, resp, raw, http.StatusNotFound)
		})
	}
	// Eve cannot select the owner's server for her own session either; the refusal is the one a
	// missing server gets.
	for _, id := range []string{srv.Id.String(), "00000000-0000-4000-8000-000000000000"} {
		resp, raw := s.Do(t, http.MethodPut, "/v1/sessions/"+evesSession.Id.String()+"/tools", fmt.Sprintf(`{"enabled_servers":[%q],"enabled_tools":[]}`, id), eve.Bearer())
		if p := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(p) != "/enabled_servers/0" || detail(p) != "the tool selection is not valid" {
			t.Errorf("selecting %s: %v", id, fieldErrors(p))
		}
	}
	resp, raw := s.Do(t, http.MethodGet, server, nil, owner.Bearer())
	if got := decodeInto[api.MCPServer](t, resp, raw, http.StatusOK); got.Name != "mine" || got.Version != 1 {
		t.Errorf("after eve's attempts: %+v", got)
	}
}

// TestMCPAdminOnlyServers: global and stdio servers are for administrators, stdio only when the
// deployment allows it; global servers are visible to all and writable by administrators only.
func TestMCPAdminOnlyServers(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "mcp-plain@example.com")
	admin := s.Admin(t, "mcp-admin@example.com")
	stdio := `{"name":"shell","transport":"stdio","command":"/bin/sh","args":["-c","id"]}`
	global := `{"name":"shared","transport":"sse","url":"https://g.example/sse","scope":"global"}`
	for _, body := range []string{stdio, global, `{"name":"x","transport":"stdio","command":"sh","scope":"global"}`} {
		resp, raw := s.Do(t, http.MethodPost, "/v1/mcp/servers", body, u.Bearer())
		if p := decodeProblem(t, resp, raw, http.StatusForbidden); p.Code != "mcp_admin_only" {
			t.Errorf("plain user creating %s: %s", body, p.Code)
		}
	}
	// Stdio is off on this deployment: even an administrator is refused.
	resp, raw := s.Do(t, http.MethodPost, "/v1/mcp/servers", stdio, admin.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusForbidden); p.Code != "mcp_stdio_disabled" {
		t.Errorf("admin creating stdio with stdio off: %s", p.Code)
	}
	g := newMCPServer(t, s, admin, global)
	if g.Scope != api.MCPScope("global") {
		t.Fatalf("scope %s", g.Scope)
	}
	// A plain user sees it but cannot change it, nor turn their own server into stdio.
	path := "/v1/mcp/servers/" + g.Id.String()
	resp, raw = s.Do(t, http.MethodGet, path, nil, u.Bearer())
	decodeInto[api.MCPServer](t, resp, raw, http.StatusOK)
	for _, m := range []struct{ method, body string }{{http.MethodPatch, `{"enabled":false}`}, {http.MethodDelete, ""}} {
		var body any
		if m.body != "" {
			body = m.body
		}
		resp, raw := s.Do(t, m.method, path, body, u.Bearer())
		if p := decodeProblem(t, resp, raw, http.StatusForbidden); p.Code != "mcp_admin_only" {
			t.Errorf("plain %s of a global server: %s", m.method, p.Code)
		}
	}
	own := newMCPServer(t, s, u, `{"name":"own","transport":"sse","url":"https://o.example/sse"}`)
	resp, raw = s.Do(t, http.MethodPatch, "/v1/mcp/servers/"+own.Id.String(), `{"transport":"stdio","command":"/bin/sh"}`, u.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusForbidden); p.Code != "mcp_admin_only" {
		t.Errorf("plain user switching to stdio: %s", p.Code)
	}
	resp, raw = s.Do(t, http.MethodPatch, path, `{"enabled":false}`, admin.Bearer())
	if got := decodeInto[api.MCPServer](t, resp, raw, http.StatusOK); got.Enabled {
		t.Error("the admin's change did not apply")
	}
	resp, raw = s.Do(t, http.MethodDelete, path, nil, admin.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("admin delete = %d %s", resp.StatusCode, raw)
	}
}
