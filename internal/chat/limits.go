package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// reserveTokens charges the token budget with what the request can use at most (a prompt
// estimate plus max_tokens), before anything is sent upstream; Finish settles it with the real
// usage. It returns the units reserved (0: no token limit) and the limiter's answer.
//
// Only an outage of Redis (ratelimit.ErrUnavailable) may be admitted, and only when
// TokensFailOpen says so; any other error (an argument error: a cost outside 1..limit, a bad
// policy) refuses the request, so no input can turn the budget off.
func (s *Service) reserveTokens(ctx context.Context, caller Caller, req Request, lr llm.Request) (int, *ratelimit.Result, error) {
	tokens := s.limits.Tokens
	if tokens == nil || s.limits.Limiter == nil {
		return 0, nil, nil
	}
	raw, _ := json.Marshal(req.Messages)
	n := min((len(raw)+attachedText(lr))/4+lr.MaxTokens, tokens.Limit)
	res, err := s.limits.Limiter.AllowN(ctx, tokenKey(caller), *tokens, n)
	switch {
	case err == nil:
	case errors.Is(err, ratelimit.ErrUnavailable) && s.limits.TokensFailOpen:
		s.log.Error("token limiter unavailable; admitting uncharged (CCB_TOKEN_LIMIT_FAIL_OPEN)", slog.String("error", err.Error()))
		return 0, nil, nil
	case errors.Is(err, ratelimit.ErrUnavailable):
		return 0, nil, apperr.Wrap(err, apperr.Unavailable, "token_limiter_unavailable",
			"the token budget cannot be checked right now; retry shortly").WithRetryAfter(5 * time.Second)
	default:
		return 0, nil, fmt.Errorf("chat: reserving %d tokens: %w", n, err) // a bug of ours: refused as internal
	}
	if !res.Allowed {
		s.observer.Rejected(tokens.Name)
		return 0, &res, apperr.New(apperr.RateLimited, "token_rate_limited", "the token budget is spent; retry later").WithRetryAfter(res.RetryAfter)
	}
	return n, &res, nil
}

// attachedText is the bytes of text the request's attached text files add to the prompt (images
// and PDFs are priced by the upstream in ways their size does not tell; the settlement counts them).
func attachedText(lr llm.Request) int {
	n := 0
	for _, m := range lr.Messages {
		for _, p := range m.Parts {
			if p.Kind == llm.Document && p.MediaType == "text/plain" {
				n += len(p.Data)
			}
		}
	}
	return n
}

func tokenKey(c Caller) string { return "u:" + c.UserID.String() }

// settleTokens replaces the reservation with the tokens actually used.
func (s *Service) settleTokens(ctx context.Context, caller Caller, reserved int, used int64) {
	if reserved == 0 {
		return
	}
	if err := s.limits.Limiter.Settle(ctx, tokenKey(caller), *s.limits.Tokens, reserved, int(used)); err != nil {
		s.log.Error("settling the token budget failed; the reservation stands", slog.String("error", err.Error()))
	}
}

// generationsRetryAfter is the Retry-After of a refusal for too many generations: a slot frees
// when one of the caller's own generations ends, which no clock predicts.
const generationsRetryAfter = 5 * time.Second

// acquireGeneration takes one of the caller's concurrent-generation slots (counted across
// instances); the returned release frees it and must run when the generation ends. Without
// Redis the cap cannot be counted, so the request is refused with 503: admitting it would lift
// the cap exactly when an instance cannot see the others.
func (s *Service) acquireGeneration(ctx context.Context, caller Caller) (func(), error) {
	if s.limits.Generations == nil || s.limits.MaxGenerations <= 0 {
		return func() {}, nil
	}
	release, ok, err := s.limits.Generations.Acquire(ctx, "generations", caller.UserID.String(), s.limits.MaxGenerations)
	switch {
	case errors.Is(err, ratelimit.ErrUnavailable):
		return nil, apperr.Wrap(err, apperr.Unavailable, "generation_limiter_unavailable",
			"running generations cannot be counted right now; retry shortly").WithRetryAfter(5 * time.Second)
	case err != nil:
		return nil, fmt.Errorf("chat: counting generations: %w", err)
	case !ok:
		s.observer.Rejected("generations")
		return nil, apperr.New(apperr.RateLimited, "too_many_generations",
			fmt.Sprintf("at most %d generations may run at once; wait for one to end", s.limits.MaxGenerations)).
			WithRetryAfter(generationsRetryAfter)
	}
	return release, nil
}
