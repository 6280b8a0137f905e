package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
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

// TestChatTokensRideTheAuthenticationTrip: with a token budget and the generation cap on, a chat
// request reserves its estimated tokens and takes its slot in the round trip that checks its
// access token's revocation; the only other round trip touching the budget is the settlement.
func TestChatTokensRideTheAuthenticationTrip(t *testing.T) {
	t.Parallel()
	env := newChatEnvWith(t, func(c *testutil.Config) {
		c.MaxConcurrentGenerations = 2
		c.RateLimitTokens = &testutil.RatePolicy{Limit: 100000, Period: time.Hour}
	})
	rec := &tripRecorder{}
	env.s.App.Redis.AddHook(tripHook(rec.record))
	env.fake.Enqueue(llmtest.TextStream("msg_ride", chatModel, "ok"))
	body := `{"model":"` + chatModel + `","max_tokens":50,"messages":[{"role":"user","content":"<b>hi</b> & bye"}]}`
	if resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %d %s", resp.StatusCode, raw)
	}
	if err := env.s.App.Chat.FlushLimits(t.Context()); err != nil {
		t.Fatal(err)
	}
	budget := "rl:tokens:u:" + env.user.UserID
	fam := "get " + env.s.App.Config.RedisPrefix + "fam:"
	touching := rec.with(budget, "evalsha")
	if len(touching) != 2 {
		t.Fatalf("the budget was touched in %d round trips, want 2 (reserve, settle): %q", len(touching), touching)
	}
	withRevocation := 0
	for _, trip := range touching {
		joined := strings.Join(trip, "\n")
		if strings.Contains(joined, fam) && strings.Contains(joined, "sem:generations:{"+env.user.UserID+"}") {
			withRevocation++
		}
	}
	if withRevocation != 1 {
		t.Errorf("no round trip reserved the tokens beside the revocation check and the slot: %q", touching)
	}
}

// TestChatTokensEstimatedAtAuthenticationAreSettledExactly: the reservation made in the
// authentication round trip is an estimate from the raw body; a request whose session history
// makes it cost more reserves the difference before going upstream — admitted when it fits,
// refused when it does not — and an estimate taken for a request refused afterwards (the
// difference did not fit, an invalid body) is given back before the answer.
func TestChatTokensEstimatedAtAuthenticationAreSettledExactly(t *testing.T) {
	t.Parallel()
	env := newChatEnvWith(t, func(c *testutil.Config) {
		c.RateLimitTokens = &testutil.RatePolicy{Limit: 1000, Period: time.Hour}
	})
	s, u := env.s, env.user
	sess := newSession(t, s, u, `{"title":"budget"}`)
	ask := func(status int, body string) (*http.Response, []byte) {
		t.Helper()
		resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", body, u.Bearer())
		if resp.StatusCode != status {
			t.Fatalf("%s: %d %s, want %d", body[:min(len(body), 120)], resp.StatusCode, raw, status)
		}
		if err := s.App.Chat.FlushLimits(t.Context()); err != nil {
			t.Fatal(err)
		}
		return resp, raw
	}
	inSession := func(content string, maxTokens int) string {
		return `{"model":"` + chatModel + `","session_id":"` + sess.Id.String() + `","use_session_history":true,"max_tokens":` +
			strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"` + content + `"}]}`
	}
	// About 750 tokens of history, settled to the 13 used.
	env.fake.Enqueue(llmtest.TextStream("msg_seed", chatModel, "ok"))
	ask(http.StatusOK, inSession(strings.Repeat("x", 3000), 1))

	// Estimated at ~130 from its body, it costs ~850 with the history: all of it is reserved.
	env.fake.Enqueue(llmtest.TextStream("msg_fits", chatModel, "ok"))
	resp, _ := ask(http.StatusOK, inSession("hi", 100))
	if left := tokensRemaining(t, resp); left > 200 {
		t.Errorf("%d tokens left after a request costing ~850 of 1000, want under 200: the history was not reserved", left)
	}
	// Estimated at ~430, it costs more than the ~970 left with the history: refused, upstream untouched.
	before := len(env.fake.Requests())
	_, raw := ask(http.StatusTooManyRequests, inSession("hi", 400))
	if !strings.Contains(string(raw), "token_rate_limited") {
		t.Errorf("refused with %s, want token_rate_limited", raw)
	}
	if n := len(env.fake.Requests()); n != before {
		t.Errorf("a request refused by the budget reached the upstream (%d requests, want %d)", n, before)
	}
	// An estimate of ~910 taken for a body refused afterwards is given back too.
	ask(http.StatusBadRequest, `{"model":"`+chatModel+`","temperature":9,"max_tokens":900,"messages":[{"role":"user","content":"x"}]}`)
	// So ~910 still fit in the ~970 left: neither refused request kept its estimate.
	env.fake.Enqueue(llmtest.TextStream("msg_after", chatModel, "ok"))
	ask(http.StatusOK, `{"model":"`+chatModel+`","max_tokens":900,"messages":[{"role":"user","content":"x"}]}`)
}

// tokensRemaining is the r parameter of the token budget's RateLimit header.
func tokensRemaining(t *testing.T, resp *http.Response) int {
	t.Helper()
	for _, v := range resp.Header.Values("RateLimit") {
		if rest, ok := strings.CutPrefix(v, `"tokens";r=`); ok {
			n, err := strconv.Atoi(strings.SplitN(rest, ";", 2)[0])
			if err != nil {
				t.Fatalf("RateLimit %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatalf("no token budget in RateLimit %q", resp.Header.Values("RateLimit"))
	return 0
}
