package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
)

// TestRealtimeTicketAudited: issuing a feed ticket is an audited auth event that names the
// caller and never holds the ticket.
func TestRealtimeTicketAudited(t *testing.T) {
	t.Parallel()
	s := realtimeServer(t, nil)
	admin := s.Admin(t, "rt-audit-admin@example.com")
	u := s.Register(t, "rt-audit@example.com")
	resp, raw := s.Do(t, http.MethodPost, "/v1/realtime/tickets", nil, u.Bearer())
	tk := decodeInto[api.RealtimeTicket](t, resp, raw, http.StatusCreated)

	var n int
	var details string
	err := s.App.Store.Pool.QueryRow(context.Background(),
		`SELECT count(*), coalesce(max(details::text), '') FROM audit_log
		 WHERE action = 'auth.realtime_ticket' AND outcome = 'success' AND actor_id = $1 AND subject_id = $1`, u.UserID).Scan(&n, &details)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d audit entries for one ticket, want 1", n)
	}
	if strings.Contains(details, tk.Ticket) || !strings.Contains(details, "expires_at") {
		t.Fatalf("audit details %s: want the expiry and never the ticket", details)
	}
	// The admin log lists it under the contract's AuditAction.
	assertAudit(t, s, admin, "auth.realtime_ticket", 1)
}
