package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestProjectsCRUDAndETags(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "proj@example.com")
	resp, body := s.Do(t, http.MethodPost, "/v1/projects", `{"name":"Alpha","description":"d","path":"/src/alpha","settings":{"model":"claude"}}`, u.Bearer())
	p := decodeInto[api.Project](t, resp, body, http.StatusCreated)
	if resp.Header.Get("ETag") != `"1"` || p.Version != 1 {
		t.Fatalf("ETag %q version %d", resp.Header.Get("ETag"), p.Version)
	}
	// PATCH with the current ETag; null clears a field, absent keeps it.
	resp, body = s.Do(t, http.MethodPatch, "/v1/projects/"+p.Id.String(), `{"description":null,"name":"Alpha 2"}`, with(u.Bearer(), "If-Match", `"1"`))
	p2 := decodeInto[api.Project](t, resp, body, http.StatusOK)
	if p2.Description != nil || p2.Name != "Alpha 2" || p2.Path == nil || *p2.Path != "/src/alpha" || resp.Header.Get("ETag") != `"2"` {
		t.Fatalf("patched %+v ETag %s", p2, resp.Header.Get("ETag"))
	}
	// A stale If-Match changes nothing, for every method.
	for _, m := range []struct{ method, body string }{
		{http.MethodPatch, `{"name":"stale"}`}, {http.MethodPut, `{"name":"stale"}`}, {http.MethodDelete, ""},
	} {
		var b any
		if m.body != "" {
			b = m.body
		}
		resp, raw := s.Do(t, m.method, "/v1/projects/"+p.Id.String(), b, with(u.Bearer(), "If-Match", `"1"`))
		decodeProblem(t, resp, raw, http.StatusPreconditionFailed)
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/projects/"+p.Id.String(), nil, u.Bearer())
	if got := decodeInto[api.Project](t, resp, body, http.StatusOK); got.Name != "Alpha 2" || got.Version != 2 {
		t.Fatalf("after stale writes: %+v", got)
	}
	// PUT replaces: fields left out are reset.
	resp, body = s.Do(t, http.MethodPut, "/v1/projects/"+p.Id.String(), `{"name":"Beta"}`, with(u.Bearer(), "If-Match", resp.Header.Get("ETag")))
	p3 := decodeInto[api.Project](t, resp, body, http.StatusOK)
	if p3.Name != "Beta" || p3.Path != nil || len(p3.Settings) != 0 || p3.Version != 3 {
		t.Fatalf("replaced %+v", p3)
	}
	// A session in the project survives the project's deletion, detached.
	resp, body = s.Do(t, http.MethodPost, "/v1/sessions", fmt.Sprintf(`{"project_id":%q,"title":"t"}`, p.Id.String()), u.Bearer())
	sess := decodeInto[api.Session](t, resp, body, http.StatusCreated)
	if resp, _ := s.Do(t, http.MethodDelete, "/v1/projects/"+p.Id.String(), nil, with(u.Bearer(), "If-Match", `"3"`)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String(), nil, u.Bearer())
	if got := decodeInto[api.Session](t, resp, body, http.StatusOK); got.ProjectId != nil || got.Version != sess.Version+1 {
		t.Errorf("after the project's deletion the session has project_id %v, version %d (was %d)", got.ProjectId, got.Version, sess.Version)
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/projects/"+p.Id.String(), nil, u.Bearer())
	decodeProblem(t, resp, body, http.StatusNotFound)
}

func TestProjectValidationAndSearch(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "search@example.com")
	cases := []struct {
		name, body, pointer string
	}{
		{"name too long", fmt.Sprintf(`{"name":%q}`, strings.Repeat("n", 256)), "/name"},
		{"empty name", `{"name":""}`, "/name"},
		{"unknown field", `{"name":"x","owner":"me"}`, ""},
		{"settings not an object", `{"name":"x","settings":[1]}`, "/settings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.Do(t, http.MethodPost, "/v1/projects", tc.body, u.Bearer())
			p := decodeProblem(t, resp, body, http.StatusBadRequest)
			if tc.pointer != "" && (firstPointer(p) != tc.pointer) {
				t.Errorf("errors %+v, want pointer %s", p.Errors, tc.pointer)
			}
		})
	}
	names := []string{"Rust CLI", "rust-analyzer fork", "Swift app", "100% coverage_", `Robert'); DROP TABLE projects;--`, "日本語 プロジェクト 🚀"}
	for _, n := range names {
		b, _ := json.Marshal(map[string]string{"name": n})
		resp, body := s.Do(t, http.MethodPost, "/v1/projects", string(b), u.Bearer())
		if got := decodeInto[api.Project](t, resp, body, http.StatusCreated); got.Name != n {
			t.Errorf("name round trip %q → %q", n, got.Name)
		}
	}
	search := func(q string) []string {
		resp, body := s.Do(t, http.MethodGet, "/v1/projects?q="+q, nil, u.Bearer())
		list := decodeInto[api.ProjectList](t, resp, body, http.StatusOK)
		var out []string
		for _, p := range list.Data {
			out = append(out, p.Name)
		}
		return out
	}
	if got := search("RUST"); len(got) != 2 {
		t.Errorf("q=RUST → %v", got)
	}
	if got := search("100%25"); len(got) != 1 || got[0] != "100% coverage_" { // % is literal, not a wildcard
		t.Errorf("q=100%% → %v", got)
	}
	if got := search("_"); len(got) != 1 { // _ is literal too
		t.Errorf("q=_ → %v", got)
	}
	if got := search("%F0%9F%9A%80"); len(got) != 1 {
		t.Errorf("emoji search → %v", got)
	}
	// Paging: limit 2 walks all six, newest first, without repeats.
	seen := map[string]bool{}
	cursor := ""
	for i := 0; i < 5; i++ {
		path := "/v1/projects?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		resp, body := s.Do(t, http.MethodGet, path, nil, u.Bearer())
		pg := decodeInto[api.ProjectList](t, resp, body, http.StatusOK)
		for _, p := range pg.Data {
			if seen[p.Id.String()] {
				t.Errorf("%s repeated", p.Name)
			}
			seen[p.Id.String()] = true
		}
		if !pg.HasMore {
			break
		}
		cursor = *pg.NextCursor
	}
	if len(seen) != len(names) {
		t.Errorf("paged through %d projects, want %d", len(seen), len(names))
	}
	resp, body := s.Do(t, http.MethodGet, "/v1/projects?cursor="+cursor+"x", nil, u.Bearer())
	decodeProblem(t, resp, body, http.StatusBadRequest)
}

// TestOtherUsersResourcesAreNotFound proves every workspace route answers another user's id
// exactly as it answers a missing one.
func TestOtherUsersResourcesAreNotFound(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "owner@example.com")
	eve := s.Register(t, "eve@example.com")
	p := newProject(t, s, owner, `{"name":"secret"}`)
	sess := newSession(t, s, owner, fmt.Sprintf(`{"project_id":%q,"title":"secret"}`, p.Id.String()))
	addMessage(t, s, owner, sess.Id.String(), `{"role":"user","content":"secret"}`)

	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/v1/projects/%s", ""},
		{http.MethodPut, "/v1/projects/%s", `{"name":"mine"}`},
		{http.MethodPatch, "/v1/projects/%s", `{"name":"mine"}`},
		{http.MethodDelete, "/v1/projects/%s", ""},
		{http.MethodGet, "/v1/sessions/%s", ""},
		{http.MethodPatch, "/v1/sessions/%s", `{"title":"mine"}`},
		{http.MethodDelete, "/v1/sessions/%s", ""},
		{http.MethodGet, "/v1/sessions/%s/stats", ""},
		{http.MethodGet, "/v1/sessions/%s/messages", ""},
		{http.MethodPost, "/v1/sessions/%s/messages", `{"role":"user","content":"hi"}`},
	}
	for _, r := range routes {
		id := sess.Id.String()
		if strings.HasPrefix(r.path, "/v1/projects") {
			id = p.Id.String()
		}
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			var b any
			if r.body != "" {
				b = r.body
			}
			resp, theirs := s.Do(t, r.method, fmt.Sprintf(r.path, id), b, eve.Bearer())
			decodeProblem(t, resp, theirs, http.StatusNotFound)
			resp, missing := s.Do(t, r.method, fmt.Sprintf(r.path, uuid.NewString()), b, eve.Bearer())
			decodeProblem(t, resp, missing, http.StatusNotFound)
			if !sameProblem(theirs, missing) {
				t.Errorf("another user's id answers differently from a missing one:\n%s\n%s", theirs, missing)
			}
		})
	}
	// Nor can Eve attach a session to the owner's project, or find it in lists and search.
	resp, body := s.Do(t, http.MethodPost, "/v1/sessions", fmt.Sprintf(`{"project_id":%q}`, p.Id.String()), eve.Bearer())
	decodeProblem(t, resp, body, http.StatusNotFound)
	for _, path := range []string{"/v1/projects", "/v1/sessions", "/v1/sessions?q=secret", "/v1/projects?q=secret", "/v1/sessions?project_id=" + p.Id.String()} {
		resp, body := s.Do(t, http.MethodGet, path, nil, eve.Bearer())
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s = %d %s", path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), p.Id.String()) || strings.Contains(string(body), sess.Id.String()) {
			t.Errorf("%s leaks the owner's data: %s", path, body)
		}
	}
	// The owner's data is intact.
	resp, body = s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/stats", nil, owner.Bearer())
	if st := decodeInto[map[string]any](t, resp, body, http.StatusOK); st["message_count"] != float64(1) {
		t.Errorf("owner's stats %v", st)
	}
}

// sameProblem compares two problems ignoring request id and instance path.
func sameProblem(a, b []byte) bool {
	norm := func(x []byte) string {
		var m map[string]any
		_ = json.Unmarshal(x, &m)
		delete(m, "request_id")
		delete(m, "instance")
		out, _ := json.Marshal(m)
		return string(out)
	}
	return norm(a) == norm(b)
}

// Creating POSTs of the workspace replay under Idempotency-Key instead of creating twice.
func TestWorkspaceCreatesAreIdempotent(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "idem-ws@example.com")
	h := with(u.Bearer(), "Idempotency-Key", "create-project-1")
	resp1, body1 := s.Do(t, http.MethodPost, "/v1/projects", `{"name":"once"}`, h)
	resp2, body2 := s.Do(t, http.MethodPost, "/v1/projects", `{"name":"once"}`, h)
	if resp1.StatusCode != http.StatusCreated || resp2.StatusCode != http.StatusCreated || string(body1) != string(body2) ||
		resp2.Header.Get("Idempotent-Replayed") != "true" || resp2.Header.Get("ETag") != resp1.Header.Get("ETag") {
		t.Fatalf("replay: %d %s / %d %s %v", resp1.StatusCode, body1, resp2.StatusCode, body2, resp2.Header)
	}
	resp, body := s.Do(t, http.MethodPost, "/v1/projects", `{"name":"twice"}`, h)
	decodeProblem(t, resp, body, http.StatusUnprocessableEntity)
	_, list := s.Do(t, http.MethodGet, "/v1/projects", nil, u.Bearer())
	if n := strings.Count(string(list), `"name":"once"`); n != 1 || strings.Contains(string(list), "twice") {
		t.Errorf("projects after replay: %s", list)
	}
	sess := newSession(t, s, u, `{}`)
	mh := with(u.Bearer(), "Idempotency-Key", "msg-1")
	for i := 0; i < 2; i++ {
		if resp, raw := s.Do(t, http.MethodPost, "/v1/sessions/"+sess.Id.String()+"/messages", `{"role":"user","content":"hi"}`, mh); resp.StatusCode != http.StatusCreated {
			t.Fatalf("message %d = %d %s", i, resp.StatusCode, raw)
		}
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/stats", nil, u.Bearer())
	if st := decodeInto[map[string]any](t, resp, body, http.StatusOK); st["message_count"] != float64(1) {
		t.Errorf("a replayed message was stored twice: %v", st)
	}
}
