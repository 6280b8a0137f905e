package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
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

// Busy callers' request and token units are leased to the instance serving them (see
// ratelimit.WithLeases), and the limits stay global: clients hammering two instances at once
// with chat completions are admitted no more than the request limit and the token budget allow
// between them — whichever runs out first refuses them — and once both instances have given back
// what they held, every unit is accounted for: spent by a request (its tokens as used), or left
// in Redis.
func TestLeasedLimitsHoldAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                      string
		requestLimit, tokenBudget int
		refusal                   string
	}{
		{"requests run out", 120, 2400, "rate_limited"},
		{"tokens run out", 600, 700, "token_rate_limited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spendAcrossInstances(t, tc.requestLimit, tc.tokenBudget, tc.refusal)
		})
	}
}

func spendAcrossInstances(t *testing.T, requestLimit, tokenBudget int, refusal string) {
	limits := testutil.WithConfig(func(c *testutil.Config) {
		c.RateLimitDefault = testutil.RatePolicy{Limit: requestLimit, Period: time.Hour}
		c.RateLimitTokens = &testutil.RatePolicy{Limit: tokenBudget, Period: time.Hour}
	})
	all := instances(t, 2, limits)
	u := all[0].Register(t, "leased-limits@example.com")
	const body = `{"model":"local-echo","max_tokens":40,"messages":[{"role":"user","content":"count the ways"}]}`
	var mu sync.Mutex
	admitted, tokensUsed, refusals := 0, 0, map[string]int{}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			s := all[i%len(all)]
			for {
				resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", body, u.Bearer())
				mu.Lock()
				switch resp.StatusCode {
				case http.StatusOK:
					var out struct {
						Usage struct {
							TotalTokens int `json:"total_tokens"`
						} `json:"usage"`
					}
					if err := json.Unmarshal(raw, &out); err != nil || out.Usage.TotalTokens < 1 {
						t.Errorf("usage of %s: %v", raw, err)
					}
					admitted++
					tokensUsed += out.Usage.TotalTokens
				case http.StatusTooManyRequests:
					refusals[decodeProblem(t, resp, raw, http.StatusTooManyRequests).Code]++
				default:
					t.Errorf("POST /v1/chat/completions = %d %s", resp.StatusCode, raw)
				}
				mu.Unlock()
				if resp.StatusCode != http.StatusOK {
					return
				}
			}
		})
	}
	wg.Wait()
	if admitted > requestLimit || tokensUsed > tokenBudget || len(refusals) != 1 || refusals[refusal] == 0 {
		t.Fatalf("admitted %d requests (limit %d) using %d tokens (budget %d); refused %v, want %s",
			admitted, requestLimit, tokensUsed, tokenBudget, refusals, refusal)
	}
	for _, s := range all {
		if err := s.App.Chat.FlushLimits(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.App.Limiter.Close()
	}
	view := ratelimit.New(all[0].App.Redis, all[0].App.Config.RedisPrefix)
	left := func(name string, limit int) int {
		res, err := view.Peek(t.Context(), "u:"+u.UserID, ratelimit.Policy{Name: name, Limit: limit, Period: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return res.Remaining
	}
	// A request the token budget refused still passed, and spent, the request limit.
	charged := admitted + refusals["token_rate_limited"]
	if n := left("default", requestLimit); n+charged != requestLimit {
		t.Errorf("%d requests charged and %d left in Redis, of a limit of %d", charged, n, requestLimit)
	}
	if n := left("tokens", tokenBudget); n+tokensUsed != tokenBudget {
		t.Errorf("%d tokens used and %d left in Redis, of a budget of %d", tokensUsed, n, tokenBudget)
	}
}
