package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// tripRecorder keeps the commands of every Redis round trip a client sends (add
// tripHook(r.record)).
type tripRecorder struct {
	mu    sync.Mutex
	trips [][]string // each trip's commands, as "name arg arg …"
}

func (r *tripRecorder) record(cmds ...redis.Cmder) {
	trip := make([]string, len(cmds))
	for i, c := range cmds {
		// The arguments only: the reply may be arriving while the hook runs.
		trip[i] = strings.TrimSuffix(fmt.Sprintln(c.Args()...), "\n")
	}
	r.mu.Lock()
	r.trips = append(r.trips, trip)
	r.mu.Unlock()
}

// with returns the recorded trips holding a command that contains every one of parts.
func (r *tripRecorder) with(parts ...string) [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]string
	for _, trip := range r.trips {
		for _, cmd := range trip {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(cmd, p)
			}
			if all {
				out = append(out, trip)
				break
			}
		}
	}
	return out
}

// slotKey is the Redis key of user's running generations (ratelimit.Semaphore's key).
func slotKey(s *testutil.Server, userID string) string {
	return s.App.Config.RedisPrefix + "sem:generations:{" + userID + "}"
}

// heldSlots is how many generation slots user holds.
func heldSlots(t *testing.T, s *testutil.Server, userID string) int64 {
	t.Helper()
	n, err := s.App.Redis.ZCard(t.Context(), slotKey(s, userID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChatSlotRidesTheAuthenticationTrip: with the generation cap on and no token budget, a chat
// request takes its slot in the round trip that checks its access token's revocation, and in no
// other, so it goes upstream after one round trip.
func TestChatSlotRidesTheAuthenticationTrip(t *testing.T) {
	t.Parallel()
	env := newChatEnvWith(t, func(c *testutil.Config) { c.MaxConcurrentGenerations = 2 })
	rec := &tripRecorder{}
	env.s.App.Redis.AddHook(tripHook(rec.record))
	body := `{"model":"local-echo","messages":[{"role":"user","content":"hi"}]}`
	if resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %d %s", resp.StatusCode, raw)
	}
	takes := rec.with("sem:generations:{"+env.user.UserID+"}", "evalsha")
	if len(takes) != 1 {
		t.Fatalf("the slot was attempted in %d round trips, want 1: %q", len(takes), takes)
	}
	if revocation := strings.Join(takes[0], "\n"); !strings.Contains(revocation, "get "+env.s.App.Config.RedisPrefix+"fam:") {
		t.Errorf("the slot's round trip does not check the token's revocation:\n%s", revocation)
	}
}

// TestChatSlotTakenAtAuthenticationIsFreedOnRefusal: a slot taken in the authentication round
// trip is freed before the answer of a request refused after it — its body invalid, its model
// unknown, its token revoked, its rate limit spent — and the cap still holds: with one slot, a
// second generation beside a running one is refused.
func TestChatSlotTakenAtAuthenticationIsFreedOnRefusal(t *testing.T) {
	t.Parallel()
	env := newChatEnvWith(t, func(c *testutil.Config) {
		c.MaxConcurrentGenerations = 1
		c.RateLimitDefault = testutil.RatePolicy{Limit: 6, Period: time.Hour}
	})
	s, u := env.s, env.user
	refusals := []struct {
		name, body string
		status     int
	}{
		{"invalid body", `{"model":"local-echo","temperature":9,"messages":[{"role":"user","content":"hi"}]}`, http.StatusBadRequest},
		{"unknown model", `{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}`, http.StatusNotFound},
	}
	for _, tc := range refusals {
		resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", tc.body, u.Bearer())
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, raw, tc.status)
		}
		if n := heldSlots(t, s, u.UserID); n != 0 {
			t.Errorf("%s: %d slots held after the refusal, want 0", tc.name, n)
		}
	}

	// The cap: one running generation holds the only slot; another is refused, and frees nothing.
	streamBody := `{"model":"` + chatModel + `","stream":true,"messages":[{"role":"user","content":"talk"}]}`
	env.fake.Enqueue(held("msg_slot_a"))
	end := openStream(t, s, u.Bearer(), streamBody)
	local := `{"model":"local-echo","messages":[{"role":"user","content":"hi"}]}`
	resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", local, u.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusTooManyRequests); p.Code != "too_many_generations" {
		t.Errorf("a second generation: %s, want too_many_generations", raw)
	}
	if n := heldSlots(t, s, u.UserID); n != 1 {
		t.Errorf("%d slots held beside the running generation, want 1", n)
	}
	end()
	waitForSlots(t, s, u.UserID, 0)

	// The rate limit: 6 an hour, 4 spent above; the 5th is admitted, the 6th too, the 7th refused.
	for i := range 2 {
		if resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", local, u.Bearer()); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d within the limit: %d %s", i+5, resp.StatusCode, raw)
		}
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/chat/completions", local, u.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusTooManyRequests); p.Code != "rate_limited" {
		t.Errorf("over the rate limit: %s, want rate_limited", raw)
	}
	if n := heldSlots(t, s, u.UserID); n != 0 {
		t.Errorf("rate limited: %d slots held, want 0", n)
	}

	// A revoked token (signed out) is refused after its round trip took the slot.
	other := s.Register(t, "slot-revoked@example.com")
	if resp, raw := s.Do(t, http.MethodPost, "/v1/auth/logout", nil, other.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, raw)
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/chat/completions", local, other.Bearer())
	decodeProblem(t, resp, raw, http.StatusUnauthorized)
	if n := heldSlots(t, s, other.UserID); n != 0 {
		t.Errorf("revoked token: %d slots held, want 0", n)
	}
}

// waitForSlots waits until user holds want slots (a generation's slot frees once the server sees
// its client go).
func waitForSlots(t *testing.T, s *testutil.Server, userID string, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for heldSlots(t, s, userID) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d slots held 10 s on, want %d", heldSlots(t, s, userID), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
