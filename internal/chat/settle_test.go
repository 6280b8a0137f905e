package chat

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

// realLimits are a token budget of limit per hour and a cap of maxGen generations on a real
// Redis namespace of the test's own.
func realLimits(t *testing.T, limit, maxGen int) Limits {
	rdb, prefix := testenv.NewRedis(t), testenv.NewRedisPrefix(t)
	return Limits{Limiter: ratelimit.New(rdb, prefix), Tokens: &ratelimit.Policy{Name: "tokens", Limit: limit, Period: time.Hour},
		Generations: ratelimit.NewSemaphore(rdb, prefix, ratelimit.DefaultLeaseTTL, quiet()), MaxGenerations: maxGen}
}

var hiRequest = Request{Messages: []Message{{Role: "user", Content: json.RawMessage(`"hi"`)}}}

// TestAdmitRefusalTakesNothing: the budget and the slot are decided together; a request the cap
// refuses gets its reservation back, and one the budget refuses leaves no slot taken.
func TestAdmitRefusalTakesNothing(t *testing.T) {
	limits := realLimits(t, 1000, 1)
	s := newLimitedService(t, limits)
	caller := Caller{UserID: uuid.New()}
	ctx := t.Context()
	first, err := s.admit(ctx, caller, hiRequest, llm.Request{MaxTokens: 400})
	if err != nil || first.reserved < 400 || first.lease == nil || first.tokens == nil || first.tokens.Remaining > 600 {
		t.Fatalf("first: %+v %v", first, err)
	}
	if _, err := s.admit(ctx, caller, hiRequest, llm.Request{MaxTokens: 500}); codeOf(err) != "too_many_generations" {
		t.Fatalf("second, slot held: %v; want too_many_generations", err)
	}
	// The refused request's 500 came back: 590 still fit beside the first's reservation.
	if res, err := limits.Limiter.AllowN(ctx, tokenKey(caller), *limits.Tokens, 590); err != nil || !res.Allowed {
		t.Fatalf("the slot refusal kept its reservation: %+v %v", res, err)
	}
	s.settler.settle(settlement{user: caller.UserID, reserved: first.reserved, used: first.reserved, lease: first.lease})
	if err := s.FlushLimits(ctx); err != nil {
		t.Fatal(err)
	}
	// The budget is spent now: the refusal must not hold the (free) slot.
	if _, err := s.admit(ctx, caller, hiRequest, llm.Request{MaxTokens: 100}); codeOf(err) != "token_rate_limited" || retryAfter(err) <= 0 {
		t.Fatalf("budget spent: %v; want token_rate_limited with Retry-After", err)
	}
	if n, err := limits.Generations.Held(ctx, "generations", caller.UserID.String()); err != nil || n != 0 {
		t.Fatalf("a budget refusal holds %d slots (%v)", n, err)
	}
}

// TestSettlementsAppliedAndDrainedAtClose: settlements queued off the response path are applied
// (a refund, an overage, a freed slot), and close applies whatever is still queued.
func TestSettlementsAppliedAndDrainedAtClose(t *testing.T) {
	limits := realLimits(t, 1000, 2)
	s := &Service{limits: limits, log: quiet(), observer: nopObserver{}, settler: newSettler(limits, quiet())}
	ctx := t.Context()
	callers := make([]Caller, 20)
	for i := range callers {
		callers[i] = Caller{UserID: uuid.New()}
		a, err := s.admit(ctx, callers[i], hiRequest, llm.Request{MaxTokens: 900})
		if err != nil {
			t.Fatal(err)
		}
		s.settler.settle(settlement{user: callers[i].UserID, reserved: a.reserved, used: 100 + i, lease: a.lease})
	}
	s.settler.close() // as Service.Wait does at shutdown
	for i, c := range callers {
		if n, err := limits.Generations.Held(ctx, "generations", c.UserID.String()); err != nil || n != 0 {
			t.Fatalf("caller %d: %d slots held after close (%v)", i, n, err)
		}
		// 100+i were used: exactly 900-i more fit, not one more.
		if res, err := limits.Limiter.AllowN(ctx, tokenKey(c), *limits.Tokens, 900-i); err != nil || !res.Allowed || res.Remaining != 0 {
			t.Fatalf("caller %d after the settlement: %+v %v; want 900-%d admitted with none left", i, res, err, i)
		}
	}
	// A settlement after close is applied by its caller, not lost.
	c := Caller{UserID: uuid.New()}
	a, err := s.admit(ctx, c, hiRequest, llm.Request{MaxTokens: 900})
	if err != nil {
		t.Fatal(err)
	}
	s.settler.settle(settlement{user: c.UserID, reserved: a.reserved, used: 0, lease: a.lease})
	if res, err := limits.Limiter.AllowN(ctx, tokenKey(c), *limits.Tokens, 1000); err != nil || !res.Allowed {
		t.Fatalf("after close the refund was lost: %+v %v", res, err)
	}
	if err := s.FlushLimits(ctx); err != nil {
		t.Errorf("flush after close: %v", err)
	}
}

// TestAdmitDecidesAgainAfterOwedSettlements: a refusal that this instance's queued settlements
// caused (the caller's previous generation not yet released) is decided again once they are
// applied, so a client's next request after a reply is admitted.
func TestAdmitDecidesAgainAfterOwedSettlements(t *testing.T) {
	limits := realLimits(t, 1000, 1)
	s := newLimitedService(t, limits)
	caller := Caller{UserID: uuid.New()}
	for i := range 40 {
		a, err := s.admit(t.Context(), caller, hiRequest, llm.Request{MaxTokens: 900})
		if err != nil {
			t.Fatalf("request %d after the previous one ended: %v", i, err)
		}
		s.settler.settle(settlement{user: caller.UserID, reserved: a.reserved, used: 1, lease: a.lease})
	}
}
