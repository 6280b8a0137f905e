package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// tokenCost is what a request can cost the token budget at most: a prompt estimate plus
// max_tokens, capped at the budget's whole limit (more could never be admitted).
func tokenCost(req Request, lr llm.Request, limit int) int {
	return min((messagesBytes(req.Messages)+attachedText(lr))/4+lr.MaxTokens, limit)
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

// generationsRetryAfter is the Retry-After of a refusal for too many generations: a slot frees
// when one of the caller's own generations ends, which no clock predicts.
const generationsRetryAfter = 5 * time.Second

// admission is what a chat request took before going upstream: the tokens reserved on the
// budget (0: no budget, or admitted uncharged) with the budget's state after the reservation
// (nil without a budget), and its generation slot (nil: no cap).
type admission struct {
	reserved int
	tokens   *ratelimit.Result
	lease    *ratelimit.Lease
}

// admit reserves the request's tokens (tokenCost) and takes one of the caller's
// concurrent-generation slots (counted across instances) in one Redis round trip, before anything
// is sent upstream. Both are usually taken already, in the authenticator's round trip (Attempt),
// and then only claimed here, with no round trip at all: the reservation there is an estimate
// from the raw body, and a request that costs more once prepared (a session's history, attached
// files) reserves the difference here.
//
// The budget is answered first: a refused or unchecked budget refuses the request whatever the
// slot said, and a refused slot refuses it after the budget admitted it; either way what the
// other took is given back before the refusal is returned. A refusal that this instance's
// unapplied settlements (an earlier generation's refund or freed slot, see settler) may have
// caused is decided again once they are applied, so a client's next request after a reply sees
// what that reply gave back.
func (s *Service) admit(ctx context.Context, caller Caller, req Request, lr llm.Request) (admission, error) {
	// Asked before the attempt too: a settlement applied while the attempt ran (its commands
	// interleaved with the attempt's) is no longer owed afterwards, yet may have refused it.
	owed := s.settler.owes(caller.UserID)
	a, err := s.admitOnce(ctx, caller, req, lr)
	if apperr.KindOf(err) == apperr.RateLimited && (owed || s.settler.owes(caller.UserID)) {
		if ferr := s.settler.flush(ctx); ferr != nil {
			return a, err
		}
		return s.admitOnce(ctx, caller, req, lr)
	}
	return a, err
}

func (s *Service) admitOnce(ctx context.Context, caller Caller, req Request, lr llm.Request) (admission, error) {
	tokens, limiter := s.limits.Tokens, s.limits.Limiter
	budgeted := tokens != nil && limiter != nil
	capped := s.limits.capped()
	if !budgeted && !capped {
		return admission{}, nil
	}
	// What the authenticator's round trip took (Attempt) is this admission's; the rest is asked here.
	a := attemptOf(ctx).claim(ctx)
	pipe := s.limits.pipeline()
	var budget *ratelimit.Pending
	need := 0
	if budgeted {
		// A cost below 1 goes to the limiter too, which refuses it: no input turns the budget off.
		cost := tokenCost(req, lr, tokens.Limit)
		if need = cost - a.reserved; need > 0 || cost < 1 {
			if budget = limiter.Queue(ctx, pipe, tokenKey(caller), *tokens, need); !budget.Queued() {
				_, err := budget.Result(ctx)
				s.giveBack(ctx, caller, a)
				return admission{}, fmt.Errorf("chat: reserving %d tokens: %w", need, err) // a bug of ours: refused as internal
			}
		}
	}
	var slot *ratelimit.PendingLease
	if capped && a.lease == nil {
		slot = s.queueSlot(ctx, pipe, caller.UserID)
	}
	if budget == nil && slot == nil {
		return a, nil
	}
	_, _ = pipe.Exec(ctx) // each call carries its own error, read below
	var err error
	if budget != nil {
		res, berr := budget.Result(ctx)
		var reserved int
		var state *ratelimit.Result
		if reserved, state, err = s.budgetAnswer(res, berr, need); state != nil {
			a.tokens = state
		}
		a.reserved += reserved
	}
	if slot != nil {
		lease, ok, serr := slot.Result(ctx)
		a.lease = lease
		if err == nil {
			err = s.slotAnswer(ok, serr)
		}
	}
	if err != nil {
		s.giveBack(ctx, caller, a)
		return admission{}, err
	}
	return a, nil
}

// budgetAnswer turns the budget's decision into what the request reserved, or its refusal. Only
// an outage of Redis (ratelimit.ErrUnavailable) may be admitted, uncharged, and only when
// TokensFailOpen says so; any other error refuses the request, so no input can turn the budget off.
func (s *Service) budgetAnswer(res ratelimit.Result, err error, cost int) (int, *ratelimit.Result, error) {
	switch {
	case err == nil:
	case errors.Is(err, ratelimit.ErrUnavailable) && s.limits.TokensFailOpen:
		s.log.Error("token limiter unavailable; admitting uncharged (CCB_TOKEN_LIMIT_FAIL_OPEN)", slog.String("error", err.Error()))
		return 0, nil, nil
	case errors.Is(err, ratelimit.ErrUnavailable):
		return 0, nil, apperr.Wrap(err, apperr.Unavailable, "token_limiter_unavailable",
			"the token budget cannot be checked right now; retry shortly").WithRetryAfter(5 * time.Second)
	default:
		return 0, nil, fmt.Errorf("chat: reserving %d tokens: %w", cost, err) // a bug of ours: refused as internal
	}
	if !res.Allowed {
		s.observer.Rejected(s.limits.Tokens.Name)
		return 0, &res, apperr.New(apperr.RateLimited, "token_rate_limited", "the token budget is spent; retry later").WithRetryAfter(res.RetryAfter)
	}
	return cost, &res, nil
}

// slotAnswer turns the slot's attempt into nil (a slot is held) or the refusal. Without Redis the
// cap cannot be counted, so the request is refused with 503: admitting it would lift the cap
// exactly when an instance cannot see the others.
func (s *Service) slotAnswer(ok bool, err error) error {
	switch {
	case errors.Is(err, ratelimit.ErrUnavailable):
		return apperr.Wrap(err, apperr.Unavailable, "generation_limiter_unavailable",
			"running generations cannot be counted right now; retry shortly").WithRetryAfter(5 * time.Second)
	case err != nil:
		return fmt.Errorf("chat: counting generations: %w", err)
	case !ok:
		s.observer.Rejected("generations")
		return apperr.New(apperr.RateLimited, "too_many_generations",
			fmt.Sprintf("at most %d generations may run at once; wait for one to end", s.limits.MaxGenerations)).
			WithRetryAfter(generationsRetryAfter)
	}
	return nil
}

// giveBack undoes a refused request's admission at once, before the refusal is answered: its
// reservation is refunded in full and its slot freed, in one round trip.
func (s *Service) giveBack(ctx context.Context, caller Caller, a admission) {
	if a.reserved == 0 && a.lease == nil {
		return
	}
	s.settler.apply(context.WithoutCancel(ctx), []settlement{{user: caller.UserID, reserved: a.reserved, lease: a.lease}})
}
