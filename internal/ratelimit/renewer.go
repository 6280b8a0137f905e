package ratelimit

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// renewer keeps a Semaphore's held leases alive: one goroutine renews every lease held on this
// instance every third of the TTL, in pipelines of renewBatch, and runs only while leases are
// held. (A goroutine per lease cost each open chat stream a goroutine stack and each renewal a
// round trip of its own.) A lease is renewed at most a third of the TTL after it was taken or
// last renewed, as before.
type renewer struct {
	mu      sync.Mutex
	held    map[*Lease]struct{}
	running bool // a renewHeld goroutine is running (or about to)
}

// renewBatch bounds the renewals sent in one pipeline.
const renewBatch = 256

// hold adds l to the leases renewed, starting the renewing goroutine if none runs.
func (r *renewer) hold(l *Lease) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held == nil {
		r.held = map[*Lease]struct{}{}
	}
	r.held[l] = struct{}{}
	if !r.running {
		r.running = true
		go r.renewHeld(l.s)
	}
}

// drop stops renewing l.
func (r *renewer) drop(l *Lease) {
	r.mu.Lock()
	delete(r.held, l)
	r.mu.Unlock()
}

// snapshot is the leases held now; none (nil) ends the renewing goroutine, under the same lock
// hold takes, so a lease taken meanwhile starts another.
func (r *renewer) snapshot() []*Lease {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.held) == 0 {
		r.running = false
		return nil
	}
	leases := make([]*Lease, 0, len(r.held))
	for l := range r.held {
		leases = append(leases, l)
	}
	return leases
}

// renewHeld renews s's held leases every third of its TTL until none is held.
func (r *renewer) renewHeld(s *Semaphore) {
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for range t.C {
		leases := r.snapshot()
		if leases == nil {
			return
		}
		for batch := range slices.Chunk(leases, renewBatch) {
			s.renewAll(batch)
		}
	}
}

// renewAll moves the expiry of leases forward in one round trip; when Redis lost its scripts (a
// restart, SCRIPT FLUSH) the script is loaded and the batch sent again, once. A failure is
// logged per lease: the lease expires unless a later renewal succeeds, which frees its slot
// rather than losing it.
func (s *Semaphore) renewAll(leases []*Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
	defer cancel()
	cmds := s.sendRenewals(ctx, leases)
	noScript := func(c *redis.Cmd) bool { return redis.HasErrorPrefix(c.Err(), "NOSCRIPT") }
	if slices.ContainsFunc(cmds, noScript) && renew.Load(ctx, s.rdb).Err() == nil {
		cmds = s.sendRenewals(ctx, leases)
	}
	for i, l := range leases {
		if err := cmds[i].Err(); err != nil {
			s.log.Warn("renewing a semaphore lease failed; it expires unless a later renewal succeeds",
				slog.String("semaphore", l.name), slog.String("error", err.Error()))
		}
	}
}

// sendRenewals renews leases on one pipeline; each command carries its own error.
func (s *Semaphore) sendRenewals(ctx context.Context, leases []*Lease) []*redis.Cmd {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(leases))
	for i, l := range leases {
		cmds[i] = renew.EvalSha(ctx, pipe, []string{l.key}, s.ttl.Milliseconds(), l.member)
	}
	_, _ = pipe.Exec(ctx)
	return cmds
}
