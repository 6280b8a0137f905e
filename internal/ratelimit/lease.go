package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// leases lets an instance take a busy key's units from Redis ahead of need and spend them
// without a round trip. It never weakens the limit: every unit spent here was charged to the
// key in Redis first, by the same GCRA script as a single request, so what all instances admit
// together is still at most what the key allows. What it changes is who may spend a charged
// unit: for at most ttl after the take that fetched them, only this instance; unspent units then
// go back to Redis (sweep), as if never charged. A refusal is always Redis's: a key whose local
// units run short asks Redis again, never refuses here.
//
// How many units a take fetches ahead (prefetch) follows the key's demand on this instance: none
// on its first take or after a quiet spell (two ttl), so an occasional caller is decided by Redis
// request by request exactly as without leases; for a busy key, what it spent here since its last
// take scaled to ttl, and never more than 1/shareDivisor of the remainder Redis last reported nor
// of the limit. Near exhaustion a take fetches nothing ahead, so the last units are handed out one
// decision at a time, and another instance sees the key's remainder short by at most that share
// for at most ttl.
type leases struct {
	ttl      time.Duration
	policies map[string]bool // the policies whose keys lease
	rdb      redis.UniversalClient

	mu      sync.Mutex
	byKey   map[string]*lease // by Redis key
	closed  bool
	sweeper sweeper
}

// lease is what one key holds on this instance.
type lease struct {
	p         Policy
	units     int           // charged in Redis, not yet spent here
	until     time.Time     // unspent units go back to Redis then
	taken     time.Time     // when Redis last answered a take of this key
	used      int           // units spent since then, that take's own included: the demand
	remaining int           // the remainder Redis reported then, not counting units
	reset     time.Duration // and its reset_after
	ahead     bool          // a take fetching units ahead is in flight: one at a time
	asked     time.Time     // when the last take was sent
}

// shareDivisor bounds a prefetch to this fraction of the last reported remainder and of the limit.
const shareDivisor = 8

// sweepTimeout bounds one sweep's round trip.
const sweepTimeout = 2 * time.Second

// Option configures a Limiter.
type Option func(*Limiter)

// WithLeases lets the named policies' keys take units ahead of need for at most ttl (see
// leases); a ttl of 0 leaves every decision to Redis. A Limiter with leases must be closed.
func WithLeases(ttl time.Duration, policies ...string) Option {
	return func(l *Limiter) {
		if ttl <= 0 || len(policies) == 0 {
			return
		}
		set := map[string]bool{}
		for _, name := range policies {
			set[name] = true
		}
		l.leases = &leases{ttl: ttl, policies: set, rdb: l.rdb, byKey: map[string]*lease{}}
	}
}

// Close gives every unit held here back to Redis and stops leasing: later decisions are Redis's
// alone. Safe to call more than once, and on a Limiter without leases.
func (l *Limiter) Close() {
	ls := l.leases
	if ls == nil {
		return
	}
	if ls.sweeper.shut(&ls.mu, &ls.closed) {
		ls.sweep(l, true)
	}
}

// on reports whether p's keys lease.
func (ls *leases) on(p Policy) bool { return ls != nil && ls.policies[p.Name] }

// spend takes n units from key's lease when it holds them, with the decision Redis would report.
func (ls *leases) spend(key string, n int, now time.Time) (Result, bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	e := ls.byKey[key]
	if ls.closed || e == nil || e.units < n || !now.Before(e.until) {
		return Result{}, false
	}
	e.units -= n
	e.used += n
	return e.result(now), true
}

// result is the decision a spend reports: admitted, with the units Redis and this lease could
// still admit (refill since the take not counted).
func (e *lease) result(now time.Time) Result {
	return Result{Allowed: true, Limit: e.p.Limit, Policy: e.p, Remaining: e.remaining + e.units,
		ResetAfter: max(e.reset-now.Sub(e.taken), 0)}
}

// prefetch returns how many units a take of n from Redis should fetch ahead for key. One take at
// a time fetches ahead: one that does must be answered (granted or refused) with ahead set.
func (ls *leases) prefetch(l *Limiter, key string, p Policy, n int, now time.Time) int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closed {
		return 0
	}
	e := ls.byKey[key]
	if e == nil {
		e = &lease{p: p}
		ls.byKey[key] = e
		ls.sweeper.start(ls.ttl/4, func() { ls.sweep(l, false) }) // which also forgets the entry once quiet
	}
	e.asked = now
	elapsed := now.Sub(e.taken)
	if e.ahead || e.taken.IsZero() || elapsed <= 0 || elapsed >= 2*ls.ttl {
		return 0
	}
	// Two takes a few microseconds apart say little of a rate: past ttl/64 apart, a take fetches
	// at most 64 times what was spent since the last.
	demand := float64(e.used+n) * float64(ls.ttl) / float64(max(elapsed, ls.ttl/64))
	extra := max(int(min(demand, float64(e.remaining/shareDivisor), float64(p.Limit/shareDivisor))), 0)
	e.ahead = extra > 0
	return extra
}

// granted records Redis's answer to an admitted take of n that fetched took units in all (ahead:
// it asked for more), and returns the decision to report (the remainder including what the lease
// now holds).
func (ls *leases) granted(l *Limiter, key string, p Policy, n, took int, ahead bool, res Result, now time.Time) Result {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	e := ls.byKey[key]
	if e == nil || ls.closed { // swept meanwhile, or closing: hold nothing
		if took > n {
			go l.giveBackNow(p, key, took-n)
		}
		return res
	}
	if ahead {
		e.ahead = false
	}
	e.taken, e.used, e.remaining, e.reset = now, n, res.Remaining, res.ResetAfter
	if took > n {
		e.units += took - n
		e.until = now.Add(ls.ttl)
	}
	res.Remaining += e.units
	return res
}

// refused records a take that Redis refused or could not decide.
func (ls *leases) refused(key string, ahead bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if e := ls.byKey[key]; e != nil {
		if ahead {
			e.ahead = false
		}
		e.remaining = 0
	}
}

// adjustLocally applies a settlement of delta units to key's live lease: a give-back (negative)
// joins the units it holds, a charge (positive) is paid from them when they cover it. false:
// the settlement is Redis's to apply.
func (ls *leases) adjustLocally(key string, delta int, now time.Time) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	e := ls.byKey[key]
	if ls.closed || e == nil || !now.Before(e.until) || (delta > 0 && e.units < delta) {
		return false
	}
	e.units -= delta
	if delta > 0 {
		e.used += delta
	}
	return true
}

// sweep gives back, in one round trip, the units of every expired lease (all leases when all is
// set), and forgets keys quiet for two ttl. Units whose give-back failed stay held, expired, for
// the next sweep to retry; Close's sweep is the last try.
func (ls *leases) sweep(l *Limiter, all bool) {
	now := time.Now()
	type back struct {
		key   string
		p     Policy
		units int
	}
	var backs []back
	ls.mu.Lock()
	for key, e := range ls.byKey {
		if e.units > 0 && (all || !now.Before(e.until)) {
			backs = append(backs, back{key, e.p, e.units})
			e.units = 0
		}
		if now.Sub(e.asked) >= 2*ls.ttl {
			e.ahead = false // a take whose answer was never read
			if e.units == 0 {
				delete(ls.byKey, key)
			}
		}
	}
	ls.mu.Unlock()
	if len(backs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	pipe := l.rdb.Pipeline()
	calls := make([]*queuedScript, len(backs))
	for i, b := range backs {
		calls[i] = queueAdjust(ctx, pipe, b.key, b.p, -b.units)
	}
	_, _ = pipe.Exec(ctx) // each call carries its own error
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for i, call := range calls {
		if call.reply(ctx, l.rdb).Err() == nil || all {
			continue
		}
		b := backs[i]
		e := ls.byKey[b.key]
		if e == nil {
			e = &lease{p: b.p, taken: now}
			ls.byKey[b.key] = e
		}
		e.units += b.units // still charged: retried by the next sweep
	}
}

// giveBackNow returns units to key in Redis on a round trip of its own.
func (l *Limiter) giveBackNow(p Policy, key string, units int) {
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	_ = queueAdjust(ctx, l.rdb, key, p, -units).reply(ctx, l.rdb).Err() // lost: the units refill over the period
}
