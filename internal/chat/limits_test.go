package chat

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// unreachableRedis is a real client pointed at a closed local port: every command fails as an
// outage would.
func unreachableRedis(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestReserveTokensOnlyAnOutageMayFailOpen: with Redis unreachable, the budget fails open only
// when configured to; an argument error (a negative max_tokens that slipped past validation) is
// refused under either setting, and is no 503 either.
func TestReserveTokensOnlyAnOutageMayFailOpen(t *testing.T) {
	policy := ratelimit.Policy{Name: "tokens", Limit: 20000, Period: time.Minute}
	limiter := ratelimit.New(unreachableRedis(t), "ccbtest:")
	caller := Caller{UserID: uuid.New()}
	req := Request{Messages: []Message{{Role: "user", Content: json.RawMessage(`"hi"`)}}}
	for _, failOpen := range []bool{false, true} {
		s := newLimitedService(t, Limits{Limiter: limiter, Tokens: &policy, TokensFailOpen: failOpen})
		a, err := s.admit(t.Context(), caller, req, llm.Request{MaxTokens: 100})
		switch {
		case failOpen && (err != nil || a.reserved != 0 || a.tokens != nil):
			t.Errorf("fail-open, Redis down: %+v, %v; want admitted uncharged", a, err)
		case !failOpen && (apperr.KindOf(err) != apperr.Unavailable || codeOf(err) != "token_limiter_unavailable" || retryAfter(err) <= 0):
			t.Errorf("fail-closed, Redis down: %v; want 503 token_limiter_unavailable with Retry-After", err)
		}
		_, err = s.admit(t.Context(), caller, req, llm.Request{MaxTokens: -1000000})
		if err == nil || apperr.KindOf(err) == apperr.Unavailable || !errors.Is(err, ratelimit.ErrArgument) {
			t.Errorf("failOpen=%v, negative max_tokens: %v; want refused as an argument error", failOpen, err)
		}
	}
}

func TestGenerationCapFailsClosedWithoutRedis(t *testing.T) {
	limits := Limits{Generations: ratelimit.NewSemaphore(unreachableRedis(t), "ccbtest:", time.Minute, quiet()), MaxGenerations: 8}
	// Fail-open covers the token budget only: an uncounted cap is no cap.
	limits.Limiter, limits.Tokens, limits.TokensFailOpen = ratelimit.New(unreachableRedis(t), "ccbtest:"), &ratelimit.Policy{Name: "tokens", Limit: 1000, Period: time.Minute}, true
	s := newLimitedService(t, limits)
	req := Request{Messages: []Message{{Role: "user", Content: json.RawMessage(`"hi"`)}}}
	if _, err := s.admit(t.Context(), Caller{UserID: uuid.New()}, req, llm.Request{MaxTokens: 10}); apperr.KindOf(err) != apperr.Unavailable ||
		codeOf(err) != "generation_limiter_unavailable" || retryAfter(err) <= 0 {
		t.Errorf("acquire with Redis down: %v; want 503 generation_limiter_unavailable with Retry-After", err)
	}
	s = newLimitedService(t, Limits{Generations: limits.Generations}) // the cap is off: Redis is not asked
	if a, err := s.admit(t.Context(), Caller{UserID: uuid.New()}, req, llm.Request{MaxTokens: 10}); err != nil || a.lease != nil {
		t.Errorf("cap off: %+v %v", a, err)
	}
}

// newLimitedService is a Service with only its limits (and their settler), stopped at the end.
func newLimitedService(t *testing.T, limits Limits) *Service {
	s := &Service{limits: limits, log: quiet(), observer: nopObserver{}, settler: newSettler(limits, quiet())}
	t.Cleanup(s.settler.close)
	return s
}

// TestPrepareBoundsMaxTokens: whatever the HTTP edge binds, prepare refuses a bound below 1
// with a pointer, before the token budget sees it.
func TestPrepareBoundsMaxTokens(t *testing.T) {
	cat, err := catalog.Load("", false)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{catalog: cat, log: quiet()}
	neg, zero, ok := -1000000, 0, 10
	cases := []struct {
		name     string
		max, mct *int
		pointer  string
	}{
		{"negative max_tokens", &neg, nil, "/max_tokens"},
		{"zero max_tokens", &zero, nil, "/max_tokens"},
		{"negative max_completion_tokens", nil, &neg, "/max_completion_tokens"},
		{"valid max_tokens, zero max_completion_tokens", &ok, &zero, "/max_completion_tokens"},
		{"valid", &ok, &ok, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Model: "claude-sonnet-4-5", MaxTokens: tc.max, MaxCompletionTokens: tc.mct,
				Messages: []Message{{Role: "user", Content: json.RawMessage(`"hi"`)}}}
			p, err := s.prepare(t.Context(), Caller{UserID: uuid.New()}, &req)
			lr := p.lr
			if tc.pointer == "" {
				if err != nil || lr.MaxTokens != ok {
					t.Fatalf("prepare = %v, max tokens %d", err, lr.MaxTokens)
				}
				return
			}
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Pointer != tc.pointer {
				t.Fatalf("prepare = %v; want 400 at %s", err, tc.pointer)
			}
		})
	}
}

func codeOf(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func retryAfter(err error) time.Duration {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	return 0
}

// TestEstimatedCostCoversPreparedCost: the estimate made from a raw body (before validation, for
// the authentication round trip) is at least what admission reserves for it once prepared, for
// bodies without history or files — compact or spaced, with the characters json.Marshal escapes,
// with either output limit — so such a request goes upstream with no second round trip; a body
// it cannot price gets no estimate.
func TestEstimatedCostCoversPreparedCost(t *testing.T) {
	cat, err := catalog.Load("", false)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{catalog: cat, log: quiet(), limits: Limits{Tokens: &ratelimit.Policy{Name: "tokens", Limit: 1 << 20, Period: time.Minute}}}
	code := strings.Repeat(`if a < b && c > d { return \"<tag>\" }\n`, 40)
	for _, body := range []string{
		`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"` + code + `"}]}`,
		`{ "model" : "claude-sonnet-4-5", "max_completion_tokens": 9, "messages": [ {"role": "user", "content": [{"type": "text", "text": "` + code + `"}]} ] }`,
		`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"system","content":"be brief & exact"},{"role":"user","content":"\u00e9\u2028<>"}]}`,
	} {
		estimate, ok := s.estimatedCost([]byte(body))
		var req Request
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		p, err := s.prepare(t.Context(), Caller{UserID: uuid.New()}, &req)
		if err != nil {
			t.Fatal(err)
		}
		if cost := tokenCost(req, p.lr, s.limits.Tokens.Limit); !ok || estimate < cost {
			t.Errorf("estimate %d (%v) below the prepared cost %d for %.80s", estimate, ok, cost, body)
		}
	}
	for _, body := range []string{`{"model":`, `{"model":"no-such-model","messages":[]}`, `{"model":"claude-sonnet-4-5","max_tokens":0,"messages":[]}`} {
		if estimate, ok := s.estimatedCost([]byte(body)); ok {
			t.Errorf("%s: estimated at %d, want no estimate", body, estimate)
		}
	}
}
