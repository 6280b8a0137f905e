package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// Several instances on one PostgreSQL database and one Redis namespace, as replicas behind a load
// balancer run: nothing an instance decides may depend on what it alone has seen. (A cancel on one
// instance stopping a generation streaming on another is TestChatCancelStopsUpstream's
// "delete-on-another-instance" case; a stream resumed elsewhere is
// TestChatStreamResumesOnAnotherInstance.)

// instances starts n instances sharing the first one's database and Redis namespace, all with opts.
func instances(t *testing.T, n int, opts ...testutil.Option) []*testutil.Server {
	t.Helper()
	first := testutil.NewServer(t, opts...)
	out := []*testutil.Server{first}
	for len(out) < n {
		out = append(out, first.Twin(t, opts...))
	}
	return out
}

// The default limit is counted in Redis, not per instance: requests spread round-robin over three
// instances admit exactly the limit in all, and the rest are refused with 429.
func TestRateLimitIsGlobalAcrossInstances(t *testing.T) {
	t.Parallel()
	const limit, sent = 5, 15
	small := testutil.WithConfig(func(c *testutil.Config) {
		c.RateLimitDefault = testutil.RatePolicy{Limit: limit, Period: time.Hour}
	})
	all := instances(t, 3, small)
	u := all[0].Register(t, "global-limit@example.com")
	counts := map[int]int{}
	for i := range sent {
		resp, _ := all[i%len(all)].Do(t, http.MethodGet, "/v1/auth/profile", nil, u.Bearer())
		counts[resp.StatusCode]++
	}
	if counts[http.StatusOK] != limit || counts[http.StatusTooManyRequests] != sent-limit {
		t.Fatalf("%d requests over %d instances with a limit of %d answered %v", sent, len(all), limit, counts)
	}
}

// A logout on A rejects the access token on B at the very next request, though B had accepted it.
func TestLogoutOnOneInstanceRejectsTheTokenOnAnother(t *testing.T) {
	t.Parallel()
	all := instances(t, 2)
	a, b := all[0], all[1]
	u := a.Register(t, "logout-across@example.com")
	if got := status(t, b, u.Bearer()); got != http.StatusOK {
		t.Fatalf("B before the logout = %d", got)
	}
	if resp, raw := a.Do(t, http.MethodPost, "/v1/auth/logout", nil, u.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout on A = %d %s", resp.StatusCode, raw)
	}
	resp, raw := b.Do(t, http.MethodGet, "/v1/auth/profile", nil, u.Bearer())
	decodeProblem(t, resp, raw, http.StatusUnauthorized)
}

// An API key revoked on A fails on B at the next request, though B had accepted it.
func TestAPIKeyRevokedOnOneInstanceFailsOnAnother(t *testing.T) {
	t.Parallel()
	all := instances(t, 2)
	a, b := all[0], all[1]
	owner := a.Register(t, "revoke-across@example.com")
	k := createKey(t, a, owner, `{"name":"ci"}`)
	key := map[string]string{"X-API-Key": k.Secret}
	if got := status(t, b, key); got != http.StatusOK {
		t.Fatalf("B before the revocation = %d", got)
	}
	if resp, raw := a.Do(t, http.MethodDelete, "/v1/auth/api-keys/"+k.ApiKey.Id.String(), nil, owner.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke on A = %d %s", resp.StatusCode, raw)
	}
	resp, raw := b.Do(t, http.MethodGet, "/v1/auth/profile", nil, key)
	decodeProblem(t, resp, raw, http.StatusUnauthorized)
}

// A signing-key rotation on A: a token A signs with the new key verifies on B at once (an unknown
// kid makes B reload the ring from PostgreSQL), after which B's JWKS publishes the new key too,
// and tokens signed by the retired key keep verifying on both.
func TestKeyRotationOnOneInstanceIsServedByAnother(t *testing.T) {
	t.Parallel()
	all := instances(t, 2)
	a, b := all[0], all[1]
	old := a.Register(t, "rotate-across@example.com")
	if got := status(t, b, old.Bearer()); got != http.StatusOK {
		t.Fatalf("B before the rotation = %d", got)
	}
	kid, err := a.App.Keys.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fresh := a.Login(t, old.Email, old.Password)
	if got := decodeJWTHeader(t, fresh.AccessToken)["kid"]; got != kid {
		t.Fatalf("A signs with kid %v after rotating to %s", got, kid)
	}
	if got := status(t, b, fresh.Bearer()); got != http.StatusOK {
		t.Fatalf("a token signed by the new key on B = %d", got)
	}
	if !jwksHas(t, b, kid) {
		t.Errorf("B's JWKS does not publish the new key %s", kid)
	}
	for name, s := range map[string]*testutil.Server{"A": a, "B": b} {
		if got := status(t, s, old.Bearer()); got != http.StatusOK {
			t.Errorf("a token signed by the retired key on %s = %d", name, got)
		}
	}
}

// jwksHas reports whether s's JWKS lists kid.
func jwksHas(t *testing.T, s *testutil.Server, kid string) bool {
	t.Helper()
	resp, raw := s.Do(t, http.MethodGet, "/.well-known/jwks.json", nil, nil)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &set) != nil {
		t.Fatalf("jwks = %d %s", resp.StatusCode, raw)
	}
	for _, k := range set.Keys {
		if k.Kid == kid {
			return true
		}
	}
	return false
}

// An idempotent create on A replays on B: the same status and body, marked as a replay, and one
// project only.
func TestIdempotentCreateReplaysOnAnotherInstance(t *testing.T) {
	t.Parallel()
	all := instances(t, 2)
	a, b := all[0], all[1]
	owner := a.Register(t, "idem-across@example.com")
	const body = `{"name":"across"}`
	first, firstRaw := a.Do(t, http.MethodPost, projectsPath, body, withKey(owner, "across-1"))
	if first.StatusCode != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first on A = %d replayed=%q %s", first.StatusCode, first.Header.Get("Idempotent-Replayed"), firstRaw)
	}
	again, againRaw := b.Do(t, http.MethodPost, projectsPath, body, withKey(owner, "across-1"))
	if again.StatusCode != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry on B = %d replayed=%q %s", again.StatusCode, again.Header.Get("Idempotent-Replayed"), againRaw)
	}
	if !bytes.Equal(firstRaw, againRaw) {
		t.Errorf("B's replay differs:\n A %s\n B %s", firstRaw, againRaw)
	}
	if ids := projectIDs(t, b, owner); len(ids) != 1 {
		t.Errorf("%d projects after a create and its replay: %v", len(ids), ids)
	}
}
