package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestDPoPRefusalsAudited: refused proofs on the real router leave auth.dpop_rejected entries
// naming the user, the reason and the bound key's thumbprint — and never the token or the proof.
func TestDPoPRefusalsAudited(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	admin := s.Admin(t, "dpop-auditor@example.com")
	key := testutil.NewDPoPKey(t, jwa.ES256)
	tokens := dpopSignIn(t, s, key, "dpop-audited@example.com")
	profile := s.URL + "/v1/auth/profile"
	proof := key.Proof(t, http.MethodGet, profile, tokens.AccessToken)
	for range 2 { // the second use of the same proof is a replay
		s.Do(t, http.MethodGet, "/v1/auth/profile", nil, dpopHeaders(tokens.AccessToken, proof))
	}
	other := testutil.NewDPoPKey(t, jwa.ES256)
	wrongKey := other.Proof(t, http.MethodGet, profile, tokens.AccessToken)
	resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, dpopHeaders(tokens.AccessToken, wrongKey))
	wantDPoPError(t, resp, body, "invalid_dpop_proof")

	resp, raw := s.Do(t, http.MethodGet, "/v1/admin/audit-log?limit=100&action=auth.dpop_rejected&user_id="+tokens.User.Id.String(), nil, admin.Bearer())
	list := decodeInto[api.AuditLogList](t, resp, raw, http.StatusOK)
	reasons := map[string]bool{}
	for _, e := range list.Data {
		if e.Outcome != "failure" || e.Ip == nil {
			t.Errorf("entry %+v: want a failure with the client IP", e)
		}
		reason, _ := e.Details["reason"].(string)
		reasons[reason] = true
		if e.Details["jkt"] != key.JKT {
			t.Errorf("entry %q names key %v, want the token's %s", reason, e.Details["jkt"], key.JKT)
		}
	}
	if len(reasons) < 2 {
		t.Fatalf("want a replay and a wrong-key entry, got reasons %v (%s)", reasons, raw)
	}
	for _, secret := range []string{tokens.AccessToken, proof, wrongKey, strings.Split(proof, ".")[2]} {
		if strings.Contains(string(raw), secret) {
			t.Fatal("the audit log holds a token or a proof")
		}
	}
}
