package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// credentialsRefusedKey marks a request whose credentials the AuthenticationFunc refused.
const credentialsRefusedKey = "ccb.credentials_refused"

// failureGateKey holds the request's *failureGate.
const failureGateKey = "ccb.failure_gate"

// throttleFailures bounds how many refused credentials (401, 403) one client address may try:
// each refusal spends a unit of the AuthFailures policy, and once that is spent a request that
// presents credentials is refused with 429 before they are looked up, so made-up API keys and
// tokens stop costing a PostgreSQL lookup each. Refusals spend nothing else: the decision of the
// caller's own budget is withdrawn (see identified), and anonymous requests never reach the
// credential lookup at all, so they neither count nor are held back here.
//
// Whether the budget is spent is asked on no round trip of its own where one is made anyway (see
// failureGate); a refusal learns it from its charge, which finds no unit left.
//
// Without Redis it admits (logged): the caller's own budget and the lockout still apply, and an
// outage must not turn every authenticated request into a 503.
func (l *requestLimits) throttleFailures(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := l.rl.AuthFailures
		if l.rl.Limiter == nil || p.Limit == 0 || routeLabel(c) == "unmatched" || !credentialsOf(c, "").Present() {
			return next(c)
		}
		g := &failureGate{l: l, c: c, key: "ip:" + c.RealIP()}
		c.Set(failureGateKey, g)
		err := next(c)
		_, identified := c.Get(principalKey).(auth.Principal)
		refused, _ := c.Get(credentialsRefusedKey).(bool)
		switch {
		case g.refusal != nil:
			// Before the 401s of the other security schemes the validator tried.
			return g.refusal
		case refused && !identified:
			if spent := l.chargeFailure(c.Request().Context(), g); spent != nil {
				return spent
			}
		case err != nil && !g.done && !c.Response().Committed:
			// Refused before authentication (the body guard, the spec): answered as when the
			// peek came first.
			if spent := g.check(c.Request().Context()); spent != nil {
				return spent
			}
		}
		return err
	}
}

// failureGate is one request's look at its address's failure budget. The peek rides the first
// Redis round trip the request makes anyway — the authenticator's, or the one of the caller's
// rate-limit decision — and is made on a trip of its own only when it must come first: before
// the lookup of a credential not known to be genuine (an API key outside the verified-key
// cache), which is what the budget protects, and when no trip carried it. A nil gate (throttle
// off) admits.
type failureGate struct {
	l       *requestLimits
	c       echo.Context
	key     string
	peek    *ratelimit.Pending // nil until queued
	done    bool               // check has answered
	refusal error              // the 429 check answered, if any
}

// gateOf returns c's gate, or nil when the throttle does not apply to c.
func (l *requestLimits) gateOf(c echo.Context) *failureGate {
	g, _ := c.Get(failureGateKey).(*failureGate)
	return g
}

// queue adds the peek to pipe unless a trip carried it already.
func (g *failureGate) queue(ctx context.Context, pipe redis.Pipeliner) {
	if g != nil && g.peek == nil && !g.done {
		g.peek = g.l.rl.Limiter.QueuePeek(ctx, pipe, g.key, g.l.rl.AuthFailures)
	}
}

// queueGenuine is queue for a caller whose credentials proved genuine: an address whose budget
// was found whole within clearFor passes without a peek (clearAddresses).
func (g *failureGate) queueGenuine(ctx context.Context, pipe redis.Pipeliner) {
	if g != nil && g.peek == nil && !g.done && g.l.clear.clear(g.key) {
		g.done = true
		return
	}
	g.queue(ctx, pipe)
}

// check answers whether the request may go on: nil, or the 429 once the budget is spent. A peek no
// trip carried is made now; later calls repeat the first answer.
func (g *failureGate) check(ctx context.Context) error {
	if g == nil || g.done {
		return g.refused()
	}
	g.done = true
	ctx, cancel := context.WithTimeout(ctx, g.l.rl.Timeout)
	defer cancel()
	var (
		res ratelimit.Result
		err error
	)
	if g.peek != nil {
		res, err = g.peek.Result(ctx)
	} else {
		res, err = g.l.rl.Limiter.Peek(ctx, g.key, g.l.rl.AuthFailures)
	}
	switch {
	case err != nil:
		g.l.log.Warn("failed-credentials throttle unavailable; admitting", slog.String("error", err.Error()))
	case !res.Allowed:
		g.refusal = g.l.failuresExceeded(g.c, res)
	case res.Remaining >= res.Limit:
		g.l.clear.found(g.key)
	}
	return g.refusal
}

// refused is the 429 check answered, if any.
func (g *failureGate) refused() error {
	if g == nil {
		return nil
	}
	return g.refusal
}

// failuresExceeded is the 429 for a spent failure budget, with its RateLimit headers set on c.
func (l *requestLimits) failuresExceeded(c echo.Context, res ratelimit.Result) error {
	l.rl.rejected(l.rl.AuthFailures.Name)
	setRateLimitHeaders(c.Response().Header(), res)
	return apperr.New(apperr.RateLimited, "auth_failures_exceeded",
		"too many requests with invalid credentials from this address; retry later").WithRetryAfter(max(res.RetryAfter, time.Millisecond))
}

// chargeFailure spends one unit of the failure budget, even when the client has gone away. When
// no unit was left the budget was spent before this request came, so it returns the 429 the peek
// would have answered had it come first (the refusal looked nothing up: an unknown API key is
// only looked up once a peek admitted it).
func (l *requestLimits) chargeFailure(ctx context.Context, g *failureGate) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.rl.Timeout)
	defer cancel()
	l.clear.charged(g.key)
	res, err := l.rl.Limiter.Allow(ctx, g.key, l.rl.AuthFailures)
	switch {
	case err != nil:
		l.log.Warn("charging a refused credential failed", slog.String("error", err.Error()))
	case !res.Allowed:
		return l.failuresExceeded(g.c, res)
	}
	return nil
}
