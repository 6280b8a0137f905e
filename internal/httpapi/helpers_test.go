package httpapi_test

// Shared helpers of the HTTP tests: requests that set things up, and decoders into the
// generated types of gen/api, so a test breaks when the contract changes under it.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// decodeProblem asserts the problem+json shape every error shares and returns it.
func decodeProblem(t *testing.T, resp *http.Response, body []byte, status int) api.Problem {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	var p api.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	if p.Status != status || p.RequestId == "" || p.RequestId != resp.Header.Get("X-Request-ID") {
		t.Errorf("problem = %+v, X-Request-ID %q", p, resp.Header.Get("X-Request-ID"))
	}
	for _, leak := range []string{"goroutine", ".go:", "panic", "SQLSTATE", "pq:", "pgx"} {
		if strings.Contains(string(body), leak) {
			t.Errorf("problem body leaks %q: %s", leak, body)
		}
	}
	return p
}

// firstField is the location and pointer of the problem's first field error, "" when it has none.
func firstField(p api.Problem) (location, pointer string) {
	if p.Errors == nil || len(*p.Errors) == 0 {
		return "", ""
	}
	fe := (*p.Errors)[0]
	if fe.Pointer != nil {
		pointer = *fe.Pointer
	}
	return string(fe.Location), pointer
}

// firstPointer is the pointer of the problem's first field error, "" when it has none.
func firstPointer(p api.Problem) string {
	_, ptr := firstField(p)
	return ptr
}

// firstLocation is the location of the problem's first field error, "" when it has none.
func firstLocation(p api.Problem) string {
	loc, _ := firstField(p)
	return loc
}

// detail is the problem's detail, "" when absent.
func detail(p api.Problem) string {
	if p.Detail == nil {
		return ""
	}
	return *p.Detail
}

// decodeInto asserts the status and decodes the body into T, a generated type.
func decodeInto[T any](t *testing.T, resp *http.Response, body []byte, status int) T {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// with copies headers h and adds k: v.
func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range h {
		out[key] = val
	}
	return out
}

// register posts a registration and returns the raw response.
func register(t *testing.T, s *testutil.Server, email, password string) (*http.Response, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return s.Do(t, http.MethodPost, "/v1/auth/register", body, nil)
}

// login logs in by email.
func login(t *testing.T, s *testutil.Server, email, password string) (*http.Response, []byte) {
	t.Helper()
	return loginAs(t, s, "email", email, password)
}

// loginAs logs in with field (email or username) as the identifier.
func loginAs(t *testing.T, s *testutil.Server, field, identifier, password string) (*http.Response, []byte) {
	t.Helper()
	return s.Do(t, http.MethodPost, "/v1/auth/login", fmt.Sprintf(`{%q:%q,"password":%q}`, field, identifier, password), nil)
}

// newProject creates a project and asserts 201.
func newProject(t *testing.T, s *testutil.Server, u testutil.Session, body string) api.Project {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/projects", body, u.Bearer())
	return decodeInto[api.Project](t, resp, raw, http.StatusCreated)
}

// newSession creates a session and asserts 201.
func newSession(t *testing.T, s *testutil.Server, u testutil.Session, body string) api.Session {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/sessions", body, u.Bearer())
	return decodeInto[api.Session](t, resp, raw, http.StatusCreated)
}

// addMessage appends a message and asserts 201.
func addMessage(t *testing.T, s *testutil.Server, u testutil.Session, sessionID, body string) api.Message {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/sessions/"+sessionID+"/messages", body, u.Bearer())
	return decodeInto[api.Message](t, resp, raw, http.StatusCreated)
}

// createKey creates an API key and asserts 201.
func createKey(t *testing.T, s *testutil.Server, owner testutil.Session, body string) api.APIKeySecret {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/api-keys", body, owner.Bearer())
	return decodeInto[api.APIKeySecret](t, resp, raw, http.StatusCreated)
}

// status is the status of GET /v1/auth/profile with header.
func status(t *testing.T, s *testutil.Server, header map[string]string) int {
	t.Helper()
	resp, _ := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, header)
	return resp.StatusCode
}

// rawContent is a message's content as the JSON the server sent.
func rawContent(t *testing.T, m api.Message) []byte {
	t.Helper()
	b, err := m.Content.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fieldErrors renders the problem's field errors as "location pointer" for failure messages.
func fieldErrors(p api.Problem) []string {
	if p.Errors == nil {
		return nil
	}
	out := make([]string, 0, len(*p.Errors))
	for _, fe := range *p.Errors {
		ptr := ""
		if fe.Pointer != nil {
			ptr = *fe.Pointer
		}
		out = append(out, string(fe.Location)+" "+ptr)
	}
	return out
}
