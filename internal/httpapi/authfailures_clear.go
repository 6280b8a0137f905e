package httpapi

import (
	"sync"
	"time"
)

// clearAddresses remembers, per client address, when a peek last found its failure budget whole
// (no refused credentials charged lately), so that a caller whose credentials proved genuine is
// admitted past the gate without asking Redis again for clearFor. The gate's purpose — no
// unknown credential is looked up once the budget is spent — is untouched: a credential not
// known to be genuine is always peeked in Redis first (failureGate.check before the lookup).
// What the cache may miss is a budget spent on another instance within clearFor: a genuine
// caller from that address is then refused that much later. A refusal charged on this
// instance forgets the address at once.
type clearAddresses struct {
	mu   sync.Mutex
	at   map[string]time.Time
	now  func() time.Time
	keep time.Duration
}

const (
	// clearFor is how long a whole failure budget is trusted without asking Redis.
	clearFor = time.Second
	// clearMax bounds the addresses remembered; past it the memory starts over.
	clearMax = 65_536
)

func newClearAddresses(now func() time.Time) *clearAddresses {
	return &clearAddresses{at: map[string]time.Time{}, now: now, keep: clearFor}
}

// clear reports whether key's budget was found whole within clearFor.
func (a *clearAddresses) clear(key string) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[key]
	return ok && a.now().Sub(t) < a.keep
}

// found records that a peek just found key's budget whole.
func (a *clearAddresses) found(key string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.at) >= clearMax {
		clear(a.at)
	}
	a.at[key] = a.now()
}

// charged forgets key: a refused credential from it was just charged.
func (a *clearAddresses) charged(key string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.at, key)
}
