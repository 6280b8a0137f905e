package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestChatTokenBudgetAcrossInstances: two servers on one Redis share the token budget; a reply's
// settlement (off the response path) is applied once FlushLimits returns, leaving only the
// tokens used charged; a reservation on one instance refuses on the other what no longer fits.
func TestChatTokenBudgetAcrossInstances(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewFakeAnthropic(t)
	limited := testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = fake.URL, "k"
		c.RateLimitTokens = &testutil.RatePolicy{Limit: 1000, Period: time.Hour}
	})
	s := testutil.NewServer(t, limited)
	twin := s.Twin(t, limited)
	u := s.Register(t, "budget-twins@example.com")
	ask := func(maxTokens int) string {
		return `{"model":"` + chatModel + `","max_tokens":` + strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"x"}]}`
	}
	fake.Enqueue(llmtest.TextStream("msg_b1", chatModel, "ok"))
	if resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", ask(900), u.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("first = %d %s", resp.StatusCode, raw)
	}
	if err := s.App.Chat.FlushLimits(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Settled to the real usage (a few dozen tokens): the budget's state says so directly.
	tat, err := s.App.Redis.Get(t.Context(), s.App.Config.RedisPrefix+"rl:tokens:u:"+u.UserID).Float64()
	if err != nil {
		t.Fatal(err)
	}
	now, err := s.App.Redis.Time(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	interval := time.Hour.Seconds() / 1000
	if charged := (tat - float64(now.UnixMicro())/1e6 + 1483228800) / interval; charged <= 0 || charged > 200 {
		t.Fatalf("after the settlement %.0f tokens are charged, want the few used", charged)
	}
	// 900 more fit on the other instance; a further 900 do not, on either.
	fake.Enqueue(llmtest.TextStream("msg_b2", chatModel, "ok"))
	if resp, raw := twin.Do(t, http.MethodPost, "/v1/chat/completions", ask(900), u.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("twin = %d %s", resp.StatusCode, raw)
	}
	if err := twin.App.Chat.FlushLimits(t.Context()); err != nil {
		t.Fatal(err)
	}
	for name, srv := range map[string]*testutil.Server{"first": s, "twin": twin} {
		resp, raw := srv.Do(t, http.MethodPost, "/v1/chat/completions", ask(990), u.Bearer())
		if p := decodeProblem(t, resp, raw, http.StatusTooManyRequests); p.Code != "token_rate_limited" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %s %v", name, raw, resp.Header)
		}
	}
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("%d upstream requests, want 2", n)
	}
}
