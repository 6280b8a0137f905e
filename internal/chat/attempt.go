package chat

import (
	"context"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// Attempt is a chat request's admission attempted ahead of it, in the Redis round trip that
// authenticates its caller, so that the request goes upstream after that one round trip instead
// of two: one of the caller's generation slots (when generations are capped) and, when the body
// was read before authentication, a reservation of the tokens it is estimated to cost (when a
// token budget is set; estimatedCost). admit uses what the attempt took and asks Redis itself
// only for the rest: a refused or failed attempt is ignored and asked again, so every refusal is
// still admit's own (with its retry after unapplied settlements), and a request costing more
// than its estimate (a session's history, attached files) reserves the difference.
//
// The request's path owns the attempt until admit claims it: whoever refuses the request (its
// authentication, its rate limit, its body, the handler) leaves it to Release, which gives back
// what nobody claimed. Not safe for concurrent use; a request's middleware and handler run one
// after the other.
type Attempt struct {
	svc      *Service  // nil until queued
	user     uuid.UUID // whose slot and budget
	slot     *ratelimit.PendingLease
	budget   *ratelimit.Pending
	estimate int       // the tokens budget reserves
	taken    admission // what the executed attempt took, until claimed or released
}

// QueueAttempt queues on pipe (the authenticator's pipeline) an attempt at one of user's
// generation slots and, body being the request's JSON (nil: not read yet), a reservation of its
// estimated tokens into a; it queues nothing when a already holds an attempt.
func (s *Service) QueueAttempt(ctx context.Context, pipe redis.Pipeliner, user uuid.UUID, body []byte, a *Attempt) {
	if a.slot != nil || a.budget != nil || a.taken != (admission{}) {
		return
	}
	a.svc, a.user = s, user
	if s.limits.capped() {
		a.slot = s.queueSlot(ctx, pipe, user)
	}
	tokens, limiter := s.limits.Tokens, s.limits.Limiter
	if tokens == nil || limiter == nil || body == nil {
		return
	}
	if cost, ok := s.estimatedCost(body); ok {
		if pd := limiter.Queue(ctx, pipe, tokenKey(Caller{UserID: user}), *tokens, cost); pd.Queued() {
			a.budget, a.estimate = pd, cost
		}
	}
}

// queueSlot queues the attempt at one of user's generation slots on pipe.
func (s *Service) queueSlot(ctx context.Context, pipe redis.Scripter, user uuid.UUID) *ratelimit.PendingLease {
	return s.limits.Generations.Queue(ctx, pipe, "generations", user.String(), s.limits.MaxGenerations)
}

// estimatedCost is tokenCost estimated from a request's JSON body before it is validated: the
// whole body stands for its messages (tokenCost measures them as sent, messagesBytes), plus the
// output limit the request asks for. false: no estimate (a body that does not decode, an unknown
// model, an output limit prepare refuses).
func (s *Service) estimatedCost(body []byte) (int, bool) {
	head, ok := readBodyHead(body)
	if !ok {
		return 0, false
	}
	model, known := s.catalog.GetModel(head.Model)
	if !known {
		return 0, false
	}
	output, err := outputLimit(model, head.MaxTokens, head.MaxCompletionTokens)
	if err != nil {
		return 0, false
	}
	return min(len(body)/4+output, s.limits.Tokens.Limit), true
}

// read records what the executed attempt took: a slot and a reservation each count only when
// granted.
func (a *Attempt) read(ctx context.Context) {
	if a.slot != nil {
		if lease, ok, err := a.slot.Result(ctx); ok && err == nil {
			a.taken.lease = lease
		}
		a.slot = nil
	}
	if a.budget != nil {
		if res, err := a.budget.Result(ctx); err == nil && res.Allowed {
			a.taken.reserved, a.taken.tokens = a.estimate, &res
		}
		a.budget = nil
	}
}

// claim hands what the attempt took to its admission, once; the zero admission when it took
// nothing.
func (a *Attempt) claim(ctx context.Context) admission {
	if a == nil {
		return admission{}
	}
	a.read(ctx)
	taken := a.taken
	a.taken = admission{}
	return taken
}

// Release gives back what the attempt took that no admission claimed, in one round trip; it is
// safe to call more than once, and on a nil attempt.
func (a *Attempt) Release(ctx context.Context) {
	if a == nil || a.svc == nil {
		return
	}
	ctx = context.WithoutCancel(ctx) // a refused request's client may be gone; its slot is not
	a.svc.giveBack(ctx, Caller{UserID: a.user}, a.claim(ctx))
}

type attemptKey struct{}

// WithAttempt returns ctx carrying a, for CreateChatCompletion's admission to claim.
func WithAttempt(ctx context.Context, a *Attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

func attemptOf(ctx context.Context) *Attempt {
	a, _ := ctx.Value(attemptKey{}).(*Attempt)
	return a
}
