// Package ratelimit admits or refuses work per (policy, key) with GCRA, in go-redis/redis_rate's
// key layout and arithmetic (see gcra.go), on scripts that can ride in a pipeline. Each decision
// is one Lua script in Redis, so it is atomic and shared by every instance of the service: the
// limit is global, not per process. Policies a Limiter leases (WithLeases, lease.go) let a busy
// key's units be taken by that script ahead of need and spent on the instance without a round
// trip; they are charged in Redis all the same, so the limit stays global.
//
// Errors come in two kinds that callers must tell apart (errors.Is):
//
//   - ErrUnavailable: Redis could not decide (unreachable, timed out). The Result is not Allowed.
//     This package does not choose between failing open and failing closed; each caller does,
//     deliberately: the request limiter fails open for the "default" policy (the request proceeds
//     and the error is logged) and closed for "auth" (login, register and refresh must not become
//     brute-forceable while Redis is down); the chat token budget fails closed unless
//     CCB_TOKEN_LIMIT_FAIL_OPEN is set.
//   - ErrArgument: the call itself is wrong (a cost outside 1..Limit, a bad policy, an empty key).
//     Redis was never asked, so this is no outage: a caller must refuse the work, never admit it
//     as if the limiter were down — otherwise input that reaches the cost (a negative max_tokens)
//     would switch the limit off.
//
// A call waits at most as long as ctx and the client's own timeouts allow, so callers should bound
// ctx.
//
// Semaphore (semaphore.go) caps concurrent work per key across instances with leases in a Redis
// sorted set; it fails closed in the chat service (CCB_MAX_CONCURRENT_GENERATIONS), since a cap
// that is not counted is no cap.
//
// Choosing the key (user id, API key id or client IP) and rendering a Result as RateLimit headers
// are the HTTP layer's job; this package knows nothing of HTTP.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/sharedconn"
)

// Policy allows Limit units (requests, later LLM tokens) per Period for each key. The whole Limit
// may be spent at once (burst = Limit); it then refills evenly over Period.
type Policy struct {
	Name   string // "default", "auth", "tokens": names the Redis keys and the RateLimit headers
	Limit  int
	Period time.Duration
}

// ErrArgument marks a call the limiter refuses to evaluate: a cost outside 1..Limit, a policy
// with a bad name, limit or period, or an empty key. It is a caller's bug or unchecked input,
// never an outage.
var ErrArgument = errors.New("ratelimit: invalid argument")

// ErrUnavailable marks a decision Redis could not make (unreachable, timed out): the only error
// a caller may choose to fail open on.
var ErrUnavailable = errors.New("ratelimit: redis unavailable")

// unavailable wraps a Redis failure as both ErrUnavailable and an apperr.Unavailable (503).
func unavailable(op string, err error) error {
	return apperr.Wrap(fmt.Errorf("ratelimit: %s: %w: %w", op, ErrUnavailable, err),
		apperr.Unavailable, "rate_limit_unavailable", "Rate limiting is temporarily unavailable; retry later.")
}

// Result is the outcome of one decision, with what the RateLimit headers report.
type Result struct {
	Allowed    bool
	Limit      int
	Remaining  int           // units that could be admitted right now
	RetryAfter time.Duration // when refused: wait this long before the same cost can be admitted
	ResetAfter time.Duration // until the key is back to a full quota
	Policy     Policy
}

// Limiter decides against Redis. It is safe for concurrent use.
type Limiter struct {
	rdb    redis.UniversalClient
	conn   sharedconn.Conn // what decisions are sent on
	prefix string
	leases *leases // nil: every decision is Redis's
}

// New returns a Limiter whose keys are prefix + "rl:" + policy name + ":" + key.
func New(rdb redis.UniversalClient, prefix string, opts ...Option) *Limiter {
	l := &Limiter{rdb: rdb, conn: sharedconn.Of(rdb), prefix: prefix + "rl:"}
	for _, opt := range opts {
		opt(l)
	}
	return l
}

// Allow spends one unit of p for key.
func (l *Limiter) Allow(ctx context.Context, key string, p Policy) (Result, error) {
	return l.AllowN(ctx, key, p, 1)
}

// AllowN spends n units of p for key if all n are available now, and nothing otherwise. n must be
// from 1 to p.Limit: a larger cost could never be admitted, so it is a caller error.
//
// LLM tokens are reserved with AllowN (an upper bound) and then settled with Settle.
func (l *Limiter) AllowN(ctx context.Context, key string, p Policy, n int) (Result, error) {
	return l.Queue(ctx, l.conn.Scripter(), key, p, n).Result(ctx)
}

// check rejects what Redis would mis-handle (a zero rate divides by zero in the script) or what
// would merge unrelated clients into one bucket (an empty key); every refusal is an ErrArgument.
func check(key string, p Policy, n int) error {
	switch {
	case !validName(p.Name):
		return fmt.Errorf("%w: policy name %q: want lower-case letters, digits, '-', '_' or '.'", ErrArgument, p.Name)
	case p.Limit < 1 || p.Period <= 0:
		return fmt.Errorf("%w: policy %s: limit %d per %s is not positive", ErrArgument, p.Name, p.Limit, p.Period)
	case n < 1 || n > p.Limit:
		return fmt.Errorf("%w: policy %s: cost %d is outside 1..%d", ErrArgument, p.Name, n, p.Limit)
	case key == "":
		return fmt.Errorf("%w: policy %s: empty key", ErrArgument, p.Name)
	}
	return nil
}

// validName keeps names safe both as a Redis key segment (no ':') and as a structured-field string
// in the RateLimit headers (no quoting needed).
func validName(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return s != ""
}
