package httpapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestLockoutAndAdminUnlock(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	admin := s.Admin(t, "root@example.com")
	u := s.Register(t, "locked@example.com")
	for i := 0; i < 4; i++ {
		resp, body := login(t, s, u.Email, "wrong password guess")
		decodeProblem(t, resp, body, http.StatusUnauthorized)
	}
	resp, body := login(t, s, u.Email, "wrong password guess") // the fifth locks
	decodeProblem(t, resp, body, http.StatusTooManyRequests)
	resp, body = login(t, s, u.Email, u.Password) // even the right password now
	p := decodeProblem(t, resp, body, http.StatusTooManyRequests)
	if p.Code != "account_locked" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("locked login: code %q Retry-After %q", p.Code, resp.Header.Get("Retry-After"))
	}
	// Unknown identifiers lock the same way, so lockout reveals nothing.
	for i := 0; i < 5; i++ {
		login(t, s, "ghost@example.com", "whatever password")
	}
	resp, body = login(t, s, "ghost@example.com", "whatever password")
	decodeProblem(t, resp, body, http.StatusTooManyRequests)

	// The admin sees the lock and lifts it.
	resp, body = s.Do(t, http.MethodGet, "/v1/admin/users?email=LOCKED@", nil, admin.Bearer())
	if list := decodeInto[api.AdminUserList](t, resp, body, http.StatusOK); len(list.Data) != 1 || list.Data[0].LockedUntil == nil {
		t.Fatalf("admin list: want the one locked user with locked_until: %s", body)
	}
	resp, body = s.Do(t, http.MethodPatch, "/v1/admin/users/"+u.UserID, `{"unlock":true}`, admin.Bearer())
	if unlocked := decodeInto[api.AdminUser](t, resp, body, http.StatusOK); unlocked.LockedUntil != nil {
		t.Fatalf("unlock left locked_until: %s", body)
	}
	s.Login(t, u.Email, u.Password)
	assertAudit(t, s, admin, "auth.lockout", 2)
	assertAudit(t, s, admin, "admin.user_update", 1)
}

func assertAudit(t *testing.T, s *testutil.Server, admin testutil.Session, action string, atLeast int) {
	t.Helper()
	resp, body := s.Do(t, http.MethodGet, "/v1/admin/audit-log?action="+action, nil, admin.Bearer())
	var list struct {
		Data []struct {
			Action    string  `json:"action"`
			RequestID *string `json:"request_id"`
			IP        *string `json:"ip"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("audit log = %d %s", resp.StatusCode, body)
	}
	if len(list.Data) < atLeast {
		t.Errorf("audit %s: %d entries, want ≥%d", action, len(list.Data), atLeast)
	}
	for _, e := range list.Data {
		if e.Action != action || e.RequestID == nil || e.IP == nil {
			t.Errorf("audit entry %+v", e)
		}
	}
}

func TestAdminRolesStatusAndAudit(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	admin := s.Admin(t, "boss@example.com")
	u := s.Register(t, "staff@example.com")

	// Promote: the user's old sessions end, a new login carries the admin role.
	resp, body := s.Do(t, http.MethodPatch, "/v1/admin/users/"+u.UserID, `{"roles":["user","admin"]}`, admin.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("promote = %d %s", resp.StatusCode, body)
	}
	if got := status(t, s, u.Bearer()); got != http.StatusUnauthorized {
		t.Errorf("session after role change = %d, want 401", got)
	}
	promoted := s.Login(t, u.Email, u.Password)
	if resp, _ := s.Do(t, http.MethodGet, "/v1/admin/users", nil, promoted.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("promoted user on admin list = %d", resp.StatusCode)
	}
	// Disable: sign-in answers 403 and sessions end.
	resp, body = s.Do(t, http.MethodPatch, "/v1/admin/users/"+u.UserID, `{"is_active":false}`, admin.Bearer())
	if disabled := decodeInto[api.AdminUser](t, resp, body, http.StatusOK); disabled.IsActive {
		t.Fatalf("disable left the user active: %s", body)
	}
	if got := status(t, s, promoted.Bearer()); got != http.StatusUnauthorized {
		t.Errorf("disabled user's session = %d", got)
	}
	resp, body = login(t, s, u.Email, u.Password)
	decodeProblem(t, resp, body, http.StatusForbidden)

	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		{"unknown user", http.MethodPatch, "/v1/admin/users/00000000-0000-0000-0000-000000000001", `{"is_active":true}`, 404},
		{"unknown role", http.MethodPatch, "/v1/admin/users/" + u.UserID, `{"roles":["root"]}`, 400},
		{"empty change", http.MethodPatch, "/v1/admin/users/" + u.UserID, `{}`, 400},
		{"bad id", http.MethodPatch, "/v1/admin/users/nope", `{"unlock":true}`, 400},
		{"bad action filter", http.MethodGet, "/v1/admin/audit-log?action=drop.tables", "", 400},
		{"bad time filter", http.MethodGet, "/v1/admin/audit-log?since=yesterday", "", 400},
		{"tampered cursor", http.MethodGet, "/v1/admin/users?cursor=abc.def", "", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b any
			if tc.body != "" {
				b = tc.body
			}
			resp, body := s.Do(t, tc.method, tc.path, b, admin.Bearer())
			decodeProblem(t, resp, body, tc.status)
		})
	}

	// Audit log filters by user and pages newest first.
	resp, body = s.Do(t, http.MethodGet, "/v1/admin/audit-log?limit=2&user_id="+u.UserID, nil, admin.Bearer())
	var page struct {
		Data []struct {
			ID        int64   `json:"id"`
			SubjectID *string `json:"subject_id"`
			ActorID   *string `json:"actor_id"`
		} `json:"data"`
		HasMore    bool    `json:"has_more"`
		NextCursor *string `json:"next_cursor"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Data) != 2 || !page.HasMore {
		t.Fatalf("audit page = %d %s", resp.StatusCode, body)
	}
	if page.Data[0].ID <= page.Data[1].ID {
		t.Error("audit log is not newest first")
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/admin/audit-log?limit=2&user_id="+u.UserID+"&cursor="+*page.NextCursor, nil, admin.Bearer())
	var next struct {
		Data []struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &next) != nil || len(next.Data) == 0 || next.Data[0].ID >= page.Data[1].ID {
		t.Fatalf("second audit page = %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), u.Password) {
		t.Error("the audit log holds a password")
	}
}

func TestRateLimitAuthPolicy(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.RateLimitAuth = testutil.RatePolicy{Limit: 3, Period: 60e9}
	}))
	var last *http.Response
	var body []byte
	for i := 0; i < 4; i++ {
		last, body = login(t, s, "rl@example.com", "some password here")
	}
	decodeProblem(t, last, body, http.StatusTooManyRequests)
	if last.Header.Get("Retry-After") == "" || !strings.Contains(last.Header.Get("RateLimit-Policy"), `"auth";q=3;w=60`) ||
		!strings.Contains(last.Header.Get("RateLimit"), `r=0`) {
		t.Errorf("429 headers: %v", last.Header)
	}
	// Other operations use the default policy and say so (/health is limited by none).
	resp, _ := s.Do(t, http.MethodGet, "/ready", nil, nil)
	if !strings.Contains(resp.Header.Get("RateLimit-Policy"), `"default"`) {
		t.Errorf("RateLimit-Policy on /ready = %q", resp.Header.Get("RateLimit-Policy"))
	}
}

// A refused caller does not spend its user's budget: the decision starts alongside the
// revocation lookup, and a revoked token's unit is given back.
func TestRateLimitRevokedTokenSpendsNothing(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.RateLimitDefault = testutil.RatePolicy{Limit: 20, Period: time.Hour}
	}))
	a := s.Register(t, "spent@example.com")
	b := s.Login(t, a.Email, a.Password)
	if resp, body := s.Do(t, http.MethodPost, "/v1/auth/logout", nil, a.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d %s", resp.StatusCode, body)
	}
	remaining := func() int {
		t.Helper()
		resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, b.Bearer())
		m := regexp.MustCompile(`"default";r=(\d+)`).FindStringSubmatch(resp.Header.Get("RateLimit"))
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("profile = %d %s, RateLimit %q", resp.StatusCode, body, resp.Header.Get("RateLimit"))
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	before := remaining()
	for range 6 {
		resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, a.Bearer())
		decodeProblem(t, resp, body, http.StatusUnauthorized)
	}
	if after := remaining(); after != before-1 {
		t.Errorf("remaining after six revoked-token requests = %d, want %d (only the live request counted)", after, before-1)
	}
}
