package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// refusals are the audit entries of action that were refused for the last administrator.
func refusals(t *testing.T, s *testutil.Server, admin testutil.Session, action string) int {
	t.Helper()
	resp, body := s.Do(t, http.MethodGet, "/v1/admin/audit-log?action="+action, nil, admin.Bearer())
	var list struct {
		Data []struct {
			Outcome string         `json:"outcome"`
			Details map[string]any `json:"details"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("audit log = %d %s", resp.StatusCode, body)
	}
	n := 0
	for _, e := range list.Data {
		if e.Outcome == "failure" && e.Details["reason"] == "last_admin" {
			n++
		}
	}
	return n
}

func TestLastActiveAdminCannotBeRemoved(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	root := s.Admin(t, "root@example.com")
	self := "/v1/admin/users/" + root.UserID
	for name, body := range map[string]string{
		"demote itself":  `{"roles":["user"]}`,
		"disable itself": `{"is_active":false}`,
		"both":           `{"roles":["user"],"is_active":false}`,
	} {
		resp, raw := s.Do(t, http.MethodPatch, self, body, root.Bearer())
		if p := decodeProblem(t, resp, raw, http.StatusConflict); p.Code != "last_admin" {
			t.Errorf("%s: code %q, want last_admin", name, p.Code)
		}
	}
	resp, raw := s.Do(t, http.MethodDelete, "/v1/auth/profile", `{"password":"admin password for tests"}`, root.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusConflict); p.Code != "last_admin" {
		t.Errorf("delete itself: code %q, want last_admin", p.Code)
	}
	// Nothing changed: the admin still works, and each refusal is in the audit log.
	if resp, _ := s.Do(t, http.MethodPatch, self, `{"unlock":true}`, root.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("the refused admin can no longer act: %d", resp.StatusCode)
	}
	if n := refusals(t, s, root, "admin.user_update"); n != 3 {
		t.Errorf("%d audited update refusals, want 3", n)
	}
	if n := refusals(t, s, root, "auth.profile_delete"); n != 1 {
		t.Errorf("%d audited delete refusals, want 1", n)
	}

	// With a second admin, either may step down, and the other then cannot.
	second := s.Admin(t, "second@example.com")
	if resp, raw := s.Do(t, http.MethodPatch, self, `{"roles":["user"]}`, root.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("demote with another admin left = %d %s", resp.StatusCode, raw)
	}
	resp, raw = s.Do(t, http.MethodPatch, "/v1/admin/users/"+second.UserID, `{"is_active":false}`, second.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusConflict); p.Code != "last_admin" {
		t.Errorf("disable the new last admin: code %q", p.Code)
	}
	// A plain user is not guarded: disabling one needs no other admin.
	u := s.Register(t, "plain@example.com")
	if resp, _ := s.Do(t, http.MethodPatch, "/v1/admin/users/"+u.UserID, `{"is_active":false}`, second.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("disable a plain user = %d", resp.StatusCode)
	}
}

// Two admins demoting each other at the same moment: the row locks order the two changes, so
// exactly one succeeds and the other is refused as the last admin.
func TestAdminsDemotingEachOtherConcurrently(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	ctx := context.Background()
	accounts := s.App.Accounts
	for round := range 8 {
		a := s.Admin(t, "a"+uuid.NewString()[:8]+"@example.com")
		b := s.Admin(t, "b"+uuid.NewString()[:8]+"@example.com")
		others := currentAdmins(t, s)
		for _, id := range others { // only a and b are admins in this round
			if id != a.UserID && id != b.UserID {
				if _, err := accounts.AdminUpdateUser(ctx, auth.Principal{UserID: uuid.MustParse(a.UserID)}, uuid.MustParse(id), auth.UserChange{Roles: []string{"user"}}); err != nil {
					t.Fatalf("round %d: demote leftover admin: %v", round, err)
				}
			}
		}
		demote := auth.UserChange{Roles: []string{"user"}}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]testutil.Session{{a, b}, {b, a}} {
			wg.Go(func() {
				_, errs[i] = accounts.AdminUpdateUser(ctx, auth.Principal{UserID: uuid.MustParse(pair[0].UserID)}, uuid.MustParse(pair[1].UserID), demote)
			})
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			if ae, ok := apperr.As(err); ok && ae.Code == "last_admin" {
				refused++
			} else if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if left := currentAdmins(t, s); refused != 1 || len(left) != 1 {
			t.Fatalf("round %d: %d refused, %d admins left (%v); want 1 and 1", round, refused, len(left), errs)
		}
	}
}

// currentAdmins lists the ids of the active administrators, from the database.
func currentAdmins(t *testing.T, s *testutil.Server) []string {
	t.Helper()
	rows, err := s.App.Store.Pool.Query(context.Background(), `SELECT id::text FROM users WHERE is_active AND 'admin' = ANY(roles)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}
