package httpapi

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
)

// credentialsRefusedKey marks a request whose credentials the AuthenticationFunc refused.
const credentialsRefusedKey = "ccb.credentials_refused"

// throttleFailures bounds how many refused credentials (401, 403) one client address may try:
// each refusal spends a unit of the AuthFailures policy, and once that is spent a request that
// presents credentials is refused with 429 before they are looked up, so made-up API keys and
// tokens stop costing a PostgreSQL lookup each. Refusals spend nothing else: the decision of the
// caller's own budget is withdrawn (see identified), and anonymous requests never reach the
// credential lookup at all, so they neither count nor are held back here.
//
// Without Redis it admits (logged): the caller's own budget and the lockout still apply, and an
// outage must not turn every authenticated request into a 503.
func (l *requestLimits) throttleFailures(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := l.rl.AuthFailures
		if l.rl.Limiter == nil || p.Limit == 0 || routeLabel(c) == "unmatched" || !credentialsOf(c, "").Present() {
			return next(c)
		}
		key := "ip:" + c.RealIP()
		ctx, cancel := context.WithTimeout(c.Request().Context(), l.rl.Timeout)
		res, err := l.rl.Limiter.Peek(ctx, key, p)
		cancel()
		switch {
		case err != nil:
			l.log.Warn("failed-credentials throttle unavailable; admitting", slog.String("error", err.Error()))
		case !res.Allowed:
			l.rl.rejected(p.Name)
			setRateLimitHeaders(c.Response().Header(), res)
			return apperr.New(apperr.RateLimited, "auth_failures_exceeded",
				"too many requests with invalid credentials from this address; retry later").WithRetryAfter(res.RetryAfter)
		}
		err = next(c)
		if refused, _ := c.Get(credentialsRefusedKey).(bool); refused {
			if _, ok := c.Get(principalKey).(auth.Principal); !ok {
				l.chargeFailure(c.Request().Context(), key)
			}
		}
		return err
	}
}

// chargeFailure spends one unit of the failure budget, even when the client has gone away.
func (l *requestLimits) chargeFailure(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.rl.Timeout)
	defer cancel()
	if _, err := l.rl.Limiter.Allow(ctx, key, l.rl.AuthFailures); err != nil {
		l.log.Warn("charging a refused credential failed", slog.String("error", err.Error()))
	}
}
