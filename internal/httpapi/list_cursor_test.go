package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// firstCursor fetches path with limit=1 and returns the next_cursor it must carry.
func firstCursor(t *testing.T, s *testutil.Server, who testutil.Session, path string) string {
	t.Helper()
	resp, raw := s.Do(t, http.MethodGet, withQuery(path, "limit=1"), nil, who.Bearer())
	var list struct {
		HasMore    bool    `json:"has_more"`
		NextCursor *string `json:"next_cursor"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &list) != nil || !list.HasMore || list.NextCursor == nil {
		t.Fatalf("GET %s = %d %s, want a page with a next cursor", path, resp.StatusCode, raw)
	}
	return *list.NextCursor
}

func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

// TestEveryListBindsItsCursor shows that each list accepts its own cursor and answers 400
// invalid_cursor for one issued by another list, to another user or for another filter.
func TestEveryListBindsItsCursor(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	a := s.Admin(t, "cursor-a@example.com")
	b := s.Admin(t, "cursor-b@example.com")
	sessionOf := map[string]string{}
	for _, u := range []testutil.Session{a, b} {
		for i := range 2 {
			syncCreate(t, s, u.Bearer(), "/v1/projects", map[string]any{"name": fmt.Sprintf("p%d", i)})
			createKey(t, s, u, fmt.Sprintf(`{"name":"k%d"}`, i))
		}
		for range 2 {
			sessionOf[u.Email] = syncCreate(t, s, u.Bearer(), "/v1/sessions", map[string]any{"title": "s"})
		}
		for _, role := range []string{"user", "assistant", "user", "assistant"} {
			syncAddMessage(t, s, u.Bearer(), sessionOf[u.Email], role, "hello")
		}
	}
	messages := func(u testutil.Session) string { return "/v1/sessions/" + sessionOf[u.Email] + "/messages" }
	lists := []struct {
		name     string
		path     func(testutil.Session) string
		filtered string // the same list with another filter
	}{
		{"projects", func(testutil.Session) string { return "/v1/projects" }, "q=p"},
		{"sessions", func(testutil.Session) string { return "/v1/sessions" }, "status=active"},
		{"messages", messages, "role=user"},
		{"api_keys", func(testutil.Session) string { return "/v1/auth/api-keys" }, ""},
		{"admin_users", func(testutil.Session) string { return "/v1/admin/users" }, "email=cursor"},
		{"audit", func(testutil.Session) string { return "/v1/admin/audit-log" }, "action=auth.login"},
	}
	cursors := map[string]string{}
	for _, l := range lists {
		cursors[l.name] = firstCursor(t, s, a, l.path(a))
	}
	refused := func(t *testing.T, who testutil.Session, path, cursor string) {
		t.Helper()
		resp, raw := s.Do(t, http.MethodGet, withQuery(path, "cursor="+url.QueryEscape(cursor)), nil, who.Bearer())
		if p := decodeProblem(t, resp, raw, http.StatusBadRequest); p.Code != "invalid_cursor" {
			t.Errorf("GET %s with a foreign cursor: code %q, want invalid_cursor", path, p.Code)
		}
	}
	for i, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			own := cursors[l.name]
			if resp, raw := s.Do(t, http.MethodGet, withQuery(l.path(a), "limit=1&cursor="+url.QueryEscape(own)), nil, a.Bearer()); resp.StatusCode != http.StatusOK {
				t.Fatalf("own cursor = %d %s", resp.StatusCode, raw)
			}
			refused(t, a, l.path(a), cursors[lists[(i+1)%len(lists)].name]) // another list's
			refused(t, b, l.path(b), own)                                   // another user's
			if l.filtered != "" {
				refused(t, a, withQuery(l.path(a), l.filtered), own) // another filter's
			}
		})
	}
}
