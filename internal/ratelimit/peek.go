package ratelimit

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Peek reports whether one unit of p is available for key without spending it: Allowed is true
// when at least one is, and otherwise RetryAfter says when one will be. It serves policies that
// charge only some outcomes (failed credentials) but must refuse before the work that decides
// the outcome.
func (l *Limiter) Peek(ctx context.Context, key string, p Policy) (Result, error) {
	if err := check(key, p, 1); err != nil {
		return Result{Policy: p, Limit: p.Limit}, err
	}
	limit := redis_rate.Limit{Rate: p.Limit, Burst: p.Limit, Period: p.Period}
	res, err := l.gcra.AllowN(ctx, l.prefix+p.Name+":"+key, limit, 0) // a cost of 0 reads the state
	if err != nil {
		return Result{Policy: p, Limit: p.Limit}, apperr.Wrap(err, apperr.Unavailable, "rate_limit_unavailable",
			"Rate limiting is temporarily unavailable; retry later.")
	}
	out := Result{Allowed: res.Remaining >= 1, Limit: p.Limit, Remaining: max(res.Remaining, 0), Policy: p, ResetAfter: max(res.ResetAfter, 0)}
	if !out.Allowed {
		// One unit is free once the theoretical arrival time is within the burst less one unit.
		interval := p.Period / time.Duration(p.Limit)
		out.RetryAfter = max(res.ResetAfter-time.Duration(p.Limit-1)*interval, time.Millisecond)
	}
	return out, nil
}
