package llm

import (
	"sync"
	"time"
)

// BreakerState is the state of a provider's circuit breaker.
type BreakerState string

// Breaker states: closed lets requests through; open skips the provider until the cooldown
// ends; half-open lets a single probe through, whose outcome closes or reopens the breaker.
const (
	BreakerClosed   BreakerState = "closed"
	BreakerOpen     BreakerState = "open"
	BreakerHalfOpen BreakerState = "half-open"
)

// breaker counts consecutive upstream failures of one provider.
type breaker struct {
	mu        sync.Mutex
	threshold int
	cooldown  time.Duration

	state     BreakerState
	failures  int
	openUntil time.Time
	probing   bool // a half-open probe is in flight
}

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, state: BreakerClosed}
}

// allow reports whether a request may go to the provider now. When it admits the half-open
// probe, the caller must report the outcome (success, failure or neutral).
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		if now.Before(b.openUntil) {
			return false
		}
		b.state = BreakerHalfOpen
		b.probing = true
		return true
	case BreakerHalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	default:
		return true
	}
}

// success closes the breaker.
func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state, b.failures, b.probing = BreakerClosed, 0, false
}

// failure counts an upstream failure; a failed probe reopens at once.
func (b *breaker) failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	b.failures++
	if b.state == BreakerHalfOpen || (b.threshold > 0 && b.failures >= b.threshold) {
		b.state = BreakerOpen
		b.openUntil = now.Add(b.cooldown)
	}
}

// neutral ends an attempt that says nothing about the provider's health (the caller cancelled,
// or the request itself was refused), freeing the half-open probe slot.
func (b *breaker) neutral() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

// current returns the state as seen at now (an expired open breaker reads as half-open).
func (b *breaker) current(now time.Time) BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !now.Before(b.openUntil) {
		return BreakerHalfOpen
	}
	return b.state
}
