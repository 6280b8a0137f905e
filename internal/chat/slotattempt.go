package chat

import (
	"context"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// SlotAttempt is a generation slot attempted ahead of a chat request, in the Redis round trip
// that authenticates its caller, so that a request whose token budget is off (the default) goes
// upstream after that one round trip instead of two. admit uses the slot when the attempt took
// one; a refused or failed attempt is ignored and admit asks again itself, so every refusal is
// still admit's own (with its retry after unapplied settlements).
//
// The request's path owns the attempt until admit claims it: whoever refuses the request (its
// authentication, its rate limit, its body, the handler) leaves it to Release, which frees a
// slot nobody claimed. Not safe for concurrent use; a request's middleware and handler run one
// after the other.
type SlotAttempt struct {
	pending *ratelimit.PendingLease // nil: nothing queued, or already read
	lease   *ratelimit.Lease        // the slot once read, until claimed or released
}

// QueueSlot queues an attempt at one of user's generation slots on pipe (the authenticator's
// pipeline) into a; it queues nothing when generations are not capped or a holds an attempt.
func (s *Service) QueueSlot(ctx context.Context, pipe redis.Pipeliner, user uuid.UUID, a *SlotAttempt) {
	if !s.limits.capped() || a.pending != nil || a.lease != nil {
		return
	}
	a.pending = s.queueSlot(ctx, pipe, user)
}

// queueSlot queues the attempt at one of user's generation slots on pipe.
func (s *Service) queueSlot(ctx context.Context, pipe redis.Scripter, user uuid.UUID) *ratelimit.PendingLease {
	return s.limits.Generations.Queue(ctx, pipe, "generations", user.String(), s.limits.MaxGenerations)
}

// read turns the executed attempt into its lease (nil: refused, failed or nothing queued).
func (a *SlotAttempt) read(ctx context.Context) {
	if a.pending == nil {
		return
	}
	lease, ok, err := a.pending.Result(ctx)
	a.pending = nil
	if ok && err == nil {
		a.lease = lease
	}
}

// claim hands the slot the attempt took to its admission, once; nil when it took none.
func (a *SlotAttempt) claim(ctx context.Context) *ratelimit.Lease {
	if a == nil {
		return nil
	}
	a.read(ctx)
	lease := a.lease
	a.lease = nil
	return lease
}

// Release frees a slot the attempt took that no admission claimed; it is safe to call more than
// once, and on a nil attempt.
func (a *SlotAttempt) Release(ctx context.Context) {
	if a == nil {
		return
	}
	ctx = context.WithoutCancel(ctx) // a refused request's client may be gone; its slot is not
	if lease := a.claim(ctx); lease != nil {
		lease.Release(ctx)
	}
}

type slotAttemptKey struct{}

// WithSlotAttempt returns ctx carrying a, for CreateChatCompletion's admission to claim.
func WithSlotAttempt(ctx context.Context, a *SlotAttempt) context.Context {
	return context.WithValue(ctx, slotAttemptKey{}, a)
}

func slotAttemptOf(ctx context.Context) *SlotAttempt {
	a, _ := ctx.Value(slotAttemptKey{}).(*SlotAttempt)
	return a
}
