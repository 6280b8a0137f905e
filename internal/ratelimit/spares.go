package ratelimit

import (
	"context"
	"sync"
	"time"
)

// spares keeps a busy key's released slots held on the instance for a moment (keep), still
// leased and renewed in Redis, so that the key's next acquisition here takes one without a round
// trip and the release before it made none. The cap is untouched: a spare is a held lease, counted
// by every instance's acquire like any other. What it changes is who may use that slot: for at
// most keep after its release, only this instance — so it can refuse the key on another instance
// below its cap. Spares are therefore kept only where that cannot be felt by a person: while the
// key's last acquisition here left at least spareFloor slots free, and no more than
// 1/shareDivisor of them. Under the default cap of 8 a user, and any cap that close to use, every
// acquisition and release stays Redis's exactly as without spares.
type spares struct {
	keep time.Duration

	mu      sync.Mutex
	byKey   map[string][]spare // by Redis key, the most recently parked last
	closed  bool
	sweeper sweeper // releases spares kept longer than keep
}

// spareFloor is the fewest free slots a key's last acquisition must have left for it to keep spares.
const spareFloor = 16

type spare struct {
	lease *Lease
	since time.Time
}

// WithSpares has s keep released slots as spares for keep (see spares); 0 releases every slot at
// once. A Semaphore with spares must be closed.
func (s *Semaphore) WithSpares(keep time.Duration) *Semaphore {
	if keep > 0 {
		s.spares = &spares{keep: keep, byKey: map[string][]spare{}}
	}
	return s
}

// Close releases every spare slot and stops keeping them: later releases go to Redis at once.
// Safe to call more than once, on a Semaphore without spares, and on a nil one.
func (s *Semaphore) Close() {
	if s == nil || s.spares == nil {
		return
	}
	if sp := s.spares; sp.sweeper.shut(&sp.mu, &sp.closed) {
		s.releaseSpares(true)
	}
}

// take returns one of key's spares, or nil.
func (sp *spares) take(key string) *Lease {
	if sp == nil {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	list := sp.byKey[key]
	if sp.closed || len(list) == 0 {
		return nil
	}
	l := list[len(list)-1].lease
	if len(list) == 1 {
		delete(sp.byKey, key)
	} else {
		sp.byKey[key] = list[:len(list)-1]
	}
	return l
}

// park keeps l's slot as a spare when its key may keep one more, and reports whether it did:
// the slot then stays leased under a new Lease, renewed with the others.
func (sp *spares) park(s *Semaphore, l *Lease) bool {
	if sp == nil {
		return false
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed || l.free < spareFloor || len(sp.byKey[l.key])+1 > l.free/shareDivisor {
		return false
	}
	kept := &Lease{s: s, name: l.name, key: l.key, member: l.member, free: l.free}
	s.renewer.hold(kept)
	sp.byKey[l.key] = append(sp.byKey[l.key], spare{lease: kept, since: time.Now()})
	sp.sweeper.start(sp.keep/4, func() { s.releaseSpares(false) })
	return true
}

// releaseSpares frees, in one round trip, the spares kept longer than keep (all of them when all
// is set); a release that fails leaves its lease to expire by itself.
func (s *Semaphore) releaseSpares(all bool) {
	sp := s.spares
	cutoff := time.Now().Add(-sp.keep)
	var out []*Lease
	sp.mu.Lock()
	for key, list := range sp.byKey {
		kept := list[:0]
		for _, e := range list {
			if all || e.since.Before(cutoff) {
				out = append(out, e.lease)
			} else {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			delete(sp.byKey, key)
		} else {
			sp.byKey[key] = kept
		}
	}
	sp.mu.Unlock()
	if len(out) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	pipe := s.rdb.Pipeline()
	checks := make([]func(), len(out))
	for i, l := range out {
		checks[i] = l.queueRemoval(ctx, pipe)
	}
	_, _ = pipe.Exec(ctx) // each removal carries its own error
	for _, check := range checks {
		check()
	}
}
