package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// RateLimits are the request policies; an operation picks one with the spec extension
// `x-rate-limit` (e.g. `auth`), otherwise Default applies.
type RateLimits struct {
	Limiter  *ratelimit.Limiter
	Default  ratelimit.Policy
	ByName   map[string]ratelimit.Policy
	Timeout  time.Duration // the budget of one Redis decision
	FailOpen map[string]bool
	// AuthFailures is the budget of refused credentials per client IP (see throttleFailures);
	// a zero Limit turns the throttle off.
	AuthFailures ratelimit.Policy
	// OnReject is told the policy of every request refused with 429 (metrics); nil ignores it.
	OnReject func(policy string)
	// RecentWrites, when set (a read replica is in use), has the caller's recent-writes lookup
	// ride in the same round trip as the decision (see carryRecentWrite).
	RecentWrites RecentWriteQueuer
}

func (rl RateLimits) rejected(policy string) {
	if rl.OnReject != nil {
		rl.OnReject(policy)
	}
}

var specParam = regexp.MustCompile(`\{([^}]+)\}`)

// policiesByRoute maps "METHOD /echo/:path" to the policy the spec names for that operation.
func policiesByRoute(spec *openapi3.T, rl RateLimits) map[string]ratelimit.Policy {
	out := map[string]ratelimit.Policy{}
	for path, item := range spec.Paths.Map() {
		echoPath := specParam.ReplaceAllString(path, ":$1")
		for method, op := range item.Operations() {
			p := rl.Default
			if name, ok := op.Extensions["x-rate-limit"].(string); ok {
				if named, ok := rl.ByName[name]; ok {
					p = named
				}
			}
			out[method+" "+echoPath] = p
		}
	}
	return out
}

// requestLimits charges each request to its caller (user, API key, or client IP when anonymous)
// under the operation's policy and reports the quota in RateLimit headers. When Redis cannot
// decide, policies marked fail-open let the request through (logged) and the others refuse it
// with 503, so sign-in never becomes brute-forceable during an outage. Only an outage
// (ratelimit.ErrUnavailable) may fail open: an argument error refuses the request as internal.
//
// For an access token the decision rides in the authenticator's one Redis round trip (with the
// revocation lookup and the DPoP jti, see auth.Identified) instead of taking its own; for an API
// key it is made as soon as the key is accepted; either way the failure budget's peek rides with
// it (see identified). If the caller is refused after all, the units are given back.
type requestLimits struct {
	rl      RateLimits
	byRoute map[string]ratelimit.Policy
	log     *slog.Logger
	chat    attemptQueuer   // nil: no chat service; see chatAttempts
	clear   *clearAddresses // nil: every genuine caller's gate is peeked in Redis
}

// decision is one request's rate-limit answer. A request is charged to every budget in keys (an
// API key's request to the key's and to its owner's, so that making keys does not multiply a
// user's limit); all must allow it, and a refusal gives back the units the other budgets had
// taken. Its GCRA calls are queued on one pipeline — the authenticator's own round trip when it
// makes one — and read once that ran.
type decision struct {
	keys    []string
	policy  ratelimit.Policy
	queued  []*ratelimit.Pending // one per key; nil until queued
	decided bool
	res     ratelimit.Result // the refusing budget's result, or else the tightest
	spent   []string         // budgets charged for an admitted request (what a withdrawal gives back)
	err     error
}

const decisionKey = "ccb.ratelimit"

// prepare returns the decision to make for c's operation and caller (nil p: anonymous), or nil
// when the operation is not limited.
func (l *requestLimits) prepare(c echo.Context, p *auth.Principal) *decision {
	policy, ok := l.byRoute[c.Request().Method+" "+c.Path()]
	if !ok || l.rl.Limiter == nil {
		return nil
	}
	keys := []string{"ip:" + c.RealIP()}
	if p != nil {
		keys = []string{"u:" + p.UserID.String()}
		if p.APIKeyID != uuid.Nil { // each key has its own budget (e.g. one per CI job) within its owner's
			keys = append(keys, "k:"+p.APIKeyID.String())
		}
	}
	return &decision{keys: keys, policy: policy}
}

// queue adds d's GCRA calls, one per budget, to pipe.
func (l *requestLimits) queue(ctx context.Context, pipe redis.Pipeliner, d *decision) {
	for _, key := range d.keys {
		d.queued = append(d.queued, l.rl.Limiter.Queue(ctx, pipe, key, d.policy, 1))
	}
}

// decide makes d on a round trip of its own (anonymous callers), bounded by the limiter's
// timeout; a failure budget's peek not yet made rides along.
func (l *requestLimits) decide(ctx context.Context, d *decision, gate *failureGate) {
	ctx, cancel := context.WithTimeout(ctx, l.rl.Timeout)
	defer cancel()
	pipe := l.rl.Limiter.Pipeline()
	l.queue(ctx, pipe, d)
	gate.queue(ctx, pipe)
	_, _ = pipe.Exec(ctx) // each call carries its own error
	l.read(ctx, d)
}

// read takes the answers of d's queued calls (once): the first refusal or error decides, else
// the tightest budget; a refused or failed decision gives back what the other budgets took.
func (l *requestLimits) read(ctx context.Context, d *decision) {
	if d.decided {
		return
	}
	d.decided = true
	for i, pd := range d.queued {
		res, err := pd.Result(ctx)
		if err == nil && res.Allowed {
			d.spent = append(d.spent, d.keys[i])
		}
		switch {
		case d.err != nil || (i > 0 && !d.res.Allowed):
		case err != nil:
			d.res, d.err = res, err
		case i == 0 || !res.Allowed || res.Remaining < d.res.Remaining:
			d.res = res
		}
	}
	if d.err != nil || !d.res.Allowed {
		l.giveBack(ctx, d)
	}
}

// giveBack returns the units d took, as if the request had never been charged.
func (l *requestLimits) giveBack(ctx context.Context, d *decision) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.rl.Timeout)
	defer cancel()
	for _, key := range d.spent {
		if err := l.rl.Limiter.Settle(ctx, key, d.policy, 1, 0); err != nil {
			l.log.Warn("giving back a rate-limit unit failed", slog.String("error", err.Error()))
		}
	}
	d.spent = nil
}

// identified prepares the work keyed by a caller whose credentials proved genuine: the caller's
// rate-limit decision, beside the failure budget's peek and the recent-writes lookup, all for one
// Redis round trip — the authenticator's when it makes one (see auth.Identified), else admit's.
func (l *requestLimits) identified(c echo.Context, p auth.Principal) *identifiedWork {
	w := &identifiedWork{l: l, c: c, d: l.prepare(c, &p), gate: l.gateOf(c), carry: carryRecentWrite(l.rl.RecentWrites, c, p.UserID), user: p.UserID}
	if w.d != nil {
		c.Set(decisionKey, w.d)
	}
	return w
}

// identifiedWork is what identified prepared for one authentication attempt.
type identifiedWork struct {
	l       *requestLimits
	c       echo.Context
	d       *decision // nil: the operation is not limited
	gate    *failureGate
	carry   recentWriteRider
	user    uuid.UUID
	carried bool // a round trip carried ride
}

// ride is the auth.Rider that queues the work on the authenticator's pipeline.
func (w *identifiedWork) ride(ctx context.Context, pipe redis.Pipeliner) {
	w.carried = true
	if w.d != nil {
		w.l.queue(ctx, pipe, w.d)
	}
	w.gate.queueGenuine(ctx, pipe)
	w.carry.alsoOn(ctx, pipe)
	if a := attemptOf(w.c); a != nil && w.l.chat != nil {
		w.l.chat.QueueAttempt(ctx, pipe, w.user, earlyBody(w.c), a)
	}
}

// admit runs once the authenticator accepted the caller: it makes the round trip itself when the
// authenticator made none (API keys), then answers the failure budget's peek — nil, or the 429
// once the budget is spent (withdraw the decision then).
func (w *identifiedWork) admit(ctx context.Context) error {
	if !w.carried && w.l.rl.Limiter != nil {
		tripCtx, cancel := context.WithTimeout(ctx, w.l.rl.Timeout)
		pipe := w.l.rl.Limiter.Pipeline()
		w.ride(tripCtx, pipe)
		_, _ = pipe.Exec(tripCtx) // each call carries its own error
		cancel()
	}
	return w.gate.check(ctx)
}

// withdraw takes the decision back — giving its units back — when the caller is refused after
// all. A nil w (the caller was never identified) has nothing to withdraw.
func (w *identifiedWork) withdraw() {
	if w == nil {
		return
	}
	attemptOf(w.c).Release(w.c.Request().Context()) // another scheme may queue its own
	if w.d == nil {
		return
	}
	w.c.Set(decisionKey, nil)
	if w.d.queued != nil {
		ctx := w.c.Request().Context()
		w.l.read(ctx, w.d)
		w.l.giveBack(ctx, w.d)
	}
}

// middleware applies the decision: the one started at authentication, or for anonymous callers
// one made now.
func (l *requestLimits) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, gate := c.Request().Context(), l.gateOf(c)
		d, _ := c.Get(decisionKey).(*decision)
		if d == nil {
			d = l.prepare(c, nil)
		}
		switch {
		case d == nil:
		case d.queued == nil:
			l.decide(ctx, d, gate)
		default:
			l.read(ctx, d)
		}
		// Requests presenting credentials the operation does not check (a public one) still meet
		// the failure budget, as they did before any credential lookup.
		if spent := gate.check(ctx); spent != nil {
			if d != nil {
				l.giveBack(ctx, d)
			}
			return spent
		}
		if d == nil {
			return next(c)
		}
		if d.err != nil && !errors.Is(d.err, ratelimit.ErrUnavailable) {
			// An argument error (a bad policy, an empty key) is a bug, not an outage: refused.
			return fmt.Errorf("rate limit %s: %w", d.policy.Name, d.err)
		}
		if d.err != nil {
			if l.rl.FailOpen[d.policy.Name] {
				l.log.Error("rate limiter unavailable; admitting", slog.String("policy", d.policy.Name), slog.String("error", d.err.Error()))
				return next(c)
			}
			return apperr.Wrap(d.err, apperr.Unavailable, "rate_limiter_unavailable", "the service cannot take this request right now").
				WithRetryAfter(5 * time.Second)
		}
		setRateLimitHeaders(c.Response().Header(), d.res)
		if !d.res.Allowed {
			l.rl.rejected(d.policy.Name)
			return apperr.New(apperr.RateLimited, "rate_limited", "too many requests; slow down").WithRetryAfter(d.res.RetryAfter)
		}
		return next(c)
	}
}
