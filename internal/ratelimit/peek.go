package ratelimit

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Peek reports whether one unit of p is available for key without spending it: Allowed is true
// when at least one is, and otherwise RetryAfter says when one will be. It serves policies that
// charge only some outcomes (failed credentials) but must refuse before the work that decides
// the outcome.
func (l *Limiter) Peek(ctx context.Context, key string, p Policy) (Result, error) {
	return l.QueuePeek(ctx, l.rdb, key, p).Result(ctx)
}

// QueuePeek adds Peek to pipe, so that it shares a round trip with whatever else pipe carries
// (the request's own decision); call Result once pipe has been executed. (With a client instead
// of a pipeline the peek is made at once.)
//
// What rides is a GET of the key's state, not the GCRA script: a key that holds none (never
// charged, or every charge has expired) has its whole budget, which is the answer for almost
// every request (the failure budget of an address that sent no bad credentials lately), and a
// GET costs Redis a fraction of a script call. Only a key holding a charge is decided by the
// script, with a cost of 0, on a round trip of its own in Result.
func (l *Limiter) QueuePeek(ctx context.Context, pipe redis.StringCmdable, key string, p Policy) *Pending {
	pd := &Pending{l: l, p: p, peek: true}
	if pd.err = check(key, p, 1); pd.err != nil {
		return pd
	}
	pd.key = l.prefix + p.Name + ":" + key
	pd.state = pipe.Get(ctx, pd.key)
	return pd
}

// peekCharged decides a peek whose key held a charge: the GCRA script with a cost of 0 reads the
// state against Redis's clock, admitting and spending nothing.
func (pd *Pending) peekCharged(ctx context.Context) {
	pd.call = queueScript(ctx, pd.l.rdb, gcra, []string{pd.key}, pd.p.Limit, pd.p.Limit, pd.p.Period.Seconds(), 0)
}

// peekResult reads a cost-0 decision as Peek's answer: the script "admits" a cost of 0 whatever
// the state, so what counts is whether a whole unit remains.
func peekResult(res Result, p Policy) Result {
	res.Allowed = res.Remaining >= 1
	res.RetryAfter = 0
	if !res.Allowed {
		// One unit is free once the theoretical arrival time is within the burst less one unit.
		interval := p.Period / time.Duration(p.Limit)
		res.RetryAfter = max(res.ResetAfter-time.Duration(p.Limit-1)*interval, time.Millisecond)
	}
	return res
}
