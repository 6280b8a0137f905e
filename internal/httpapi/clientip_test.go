package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// The client address keys the anonymous rate-limit budget and is written to the audit log. Echo
// would read it from X-Forwarded-For / X-Real-IP when no IPExtractor is set, and trust every
// private peer (GO-2026-6872, GO-2026-6875): these tests pin that only CCB_TRUSTED_PROXIES can
// name the client, and only through X-Forwarded-For.

var authRemaining = regexp.MustCompile(`"auth";r=(\d+)`)

// registerFrom registers a fresh account with the given extra headers and returns the auth
// budget's remaining count and the request id (the key of its audit entry).
func registerFrom(t *testing.T, s *testutil.Server, n int, header map[string]string) (remaining int, requestID string) {
	t.Helper()
	body := fmt.Sprintf(`{"email":"client-ip-%d@example.com","password":"correct horse battery staple"}`, n)
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/register", body, header)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %d = %d %s", n, resp.StatusCode, raw)
	}
	m := authRemaining.FindStringSubmatch(resp.Header.Get("RateLimit"))
	if m == nil {
		t.Fatalf("register %d: no auth budget in RateLimit %q", n, resp.Header.Values("RateLimit"))
	}
	remaining, _ = strconv.Atoi(m[1])
	return remaining, resp.Header.Get("X-Request-ID")
}

// auditIPs maps request id to the IP of each auth.register audit entry.
func auditIPs(t *testing.T, s *testutil.Server, admin testutil.Session) map[string]string {
	t.Helper()
	resp, body := s.Do(t, http.MethodGet, "/v1/admin/audit-log?action=auth.register&limit=100", nil, admin.Bearer())
	var list struct {
		Data []struct {
			RequestID *string `json:"request_id"`
			IP        *string `json:"ip"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("audit log = %d %s", resp.StatusCode, body)
	}
	ips := map[string]string{}
	for _, e := range list.Data {
		if e.RequestID != nil && e.IP != nil {
			ips[*e.RequestID] = *e.IP
		}
	}
	return ips
}

func limitedAuth(c *config.Config) {
	c.RateLimitAuth = config.RatePolicy{Limit: 100, Period: time.Hour}
}

func TestClientIPIgnoresForwardingHeadersFromUntrustedPeers(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(limitedAuth)) // CCB_TRUSTED_PROXIES unset
	admin := s.Admin(t, "ip-admin@example.com")

	var ids []string
	last := -1
	for i := range 3 {
		spoof := map[string]string{
			"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1),
			"X-Real-IP":       fmt.Sprintf("198.51.100.%d", i+1),
		}
		remaining, id := registerFrom(t, s, i, spoof)
		// One budget for all three: each request spends from the peer's, whatever it claims.
		if last >= 0 && remaining != last-1 {
			t.Errorf("request %d: auth budget r=%d after r=%d: a spoofed header picked another rate-limit key", i, remaining, last)
		}
		last = remaining
		ids = append(ids, id)
	}
	ips := auditIPs(t, s, admin)
	for i, id := range ids {
		if got := ips[id]; got != "127.0.0.1" {
			t.Errorf("request %d: audit IP %q, want the peer 127.0.0.1", i, got)
		}
	}
}

func TestClientIPFromTrustedProxyIsTheForwardedClient(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *config.Config) {
		limitedAuth(c)
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} // the test client's peer
	}))
	admin := s.Admin(t, "proxy-admin@example.com")

	cases := []struct {
		name   string
		header map[string]string
		wantIP string
	}{
		{"forwarded client", map[string]string{"X-Forwarded-For": "203.0.113.10"}, "203.0.113.10"},
		{"another forwarded client", map[string]string{"X-Forwarded-For": "203.0.113.11"}, "203.0.113.11"},
		// The proxy appends the address it saw; what the client wrote before it is not believed.
		{"client-written entry before the proxy's", map[string]string{"X-Forwarded-For": "198.51.100.66, 203.0.113.12"}, "203.0.113.12"},
		// X-Real-IP is never read, from a proxy neither: the proxy itself is the client here.
		{"X-Real-IP only", map[string]string{"X-Real-IP": "198.51.100.77"}, "127.0.0.1"},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		remaining, id := registerFrom(t, s, i, c.header)
		ids[i] = id
		// A forwarded client starts on its own budget (the admin's setup spent from the proxy's).
		if c.wantIP != "127.0.0.1" && remaining != 99 {
			t.Errorf("%s: auth budget r=%d, want 99 (a fresh key for %s)", c.name, remaining, c.wantIP)
		}
	}
	ips := auditIPs(t, s, admin)
	for i, c := range cases {
		if got := ips[ids[i]]; got != c.wantIP {
			t.Errorf("%s: audit IP %q, want %q", c.name, got, c.wantIP)
		}
	}
}
