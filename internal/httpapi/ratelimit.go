package httpapi

import (
	"context"
	"log/slog"
	"regexp"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

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

// rateLimitMiddleware charges each request to its caller (user, API key, or client IP when
// anonymous) under the operation's policy and reports the quota in RateLimit headers. When Redis
// cannot decide, policies marked fail-open let the request through (logged) and the others
// refuse it with 503, so sign-in never becomes brute-forceable during an outage.
func rateLimitMiddleware(rl RateLimits, byRoute map[string]ratelimit.Policy, log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			policy, ok := byRoute[c.Request().Method+" "+c.Path()]
			if !ok || rl.Limiter == nil {
				return next(c)
			}
			key := "ip:" + c.RealIP()
			if p, ok := c.Get(principalKey).(auth.Principal); ok {
				key = "u:" + p.UserID.String()
				if p.APIKeyID != uuid.Nil { // each key has its own budget, e.g. one per CI job
					key = "k:" + p.APIKeyID.String()
				}
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), rl.Timeout)
			res, err := rl.Limiter.Allow(ctx, key, policy)
			cancel()
			if err != nil {
				if rl.FailOpen[policy.Name] {
					log.Error("rate limiter unavailable; admitting", slog.String("policy", policy.Name), slog.String("error", err.Error()))
					return next(c)
				}
				return apperr.Wrap(err, apperr.Unavailable, "rate_limiter_unavailable", "the service cannot take this request right now").
					WithRetryAfter(5 * time.Second)
			}
			ratelimit.SetHeaders(c.Response().Header(), res)
			if !res.Allowed {
				return apperr.New(apperr.RateLimited, "rate_limited", "too many requests; slow down").WithRetryAfter(res.RetryAfter)
			}
			return next(c)
		}
	}
}
