package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

const (
	// keyPingEvery is how often an idle invalidation subscription proves it still works.
	keyPingEvery = 500 * time.Millisecond
	// keyStaleAfter is how long the cache keeps serving without hearing from its subscription: the
	// bound on a missed revocation when the connection dies silently (a dropped connection that
	// the client sees is acted on at once).
	keyStaleAfter = 2 * time.Second
	// keyAckWait bounds how long a revocation waits for every subscribed instance to confirm it
	// dropped the key; past it the revocation returns anyway (an instance that cannot answer is
	// one whose subscription is failing, so it stops serving from its cache within keyStaleAfter).
	keyAckWait = 250 * time.Millisecond
)

// keyInvalidation keeps every instance's in-process credential caches (verified API keys,
// access tokens known not to be revoked) in step over Redis Pub/Sub. A revocation is published
// after its PostgreSQL commit (and its Redis write) on one channel that all instances subscribe
// to; each drops the entries and acknowledges to the publisher, which returns once all have (or
// after keyAckWait), so the next request on any instance is refused. The connection is its own
// (not the event bus's), because the caches must see every drop of it: the bus's channel reader
// reconnects silently.
type keyInvalidation struct {
	rdb      redis.UniversalClient
	channel  string // shared by all instances
	ackTo    string // this instance's acknowledgement channel
	instance string
	caches   []invalidatedCache
	log      *slog.Logger

	ps        *redis.PubSub
	up        atomic.Bool
	lastHeard atomic.Int64 // unix nanoseconds of the last message, pong or confirmation
	closed    atomic.Bool
	done      chan struct{}

	mu      sync.Mutex
	waiting map[string]chan struct{} // nonce → one send per acknowledgement
}

// invalidatedCache is a cache keyInvalidation keeps in step.
type invalidatedCache interface {
	forgetSubjects(subjects) // drop what these revocations name
	flush()                  // drop everything
}

// subjects are what one revocation names: API keys, users (every key of theirs), refresh
// families (every access token of theirs) and access tokens.
type subjects struct {
	keys, users, families []uuid.UUID
	tokens                []string
}

func newKeyInvalidation(rdb redis.UniversalClient, prefix string, log *slog.Logger) *keyInvalidation {
	id := uuid.NewString()
	// One hash tag for both channels: in Redis Cluster both subscriptions are on the node owning
	// that slot, where publishCounted sends the revocation.
	return &keyInvalidation{rdb: rdb, channel: prefix + "{apikeys}:revoked", ackTo: prefix + "{apikeys}:ack:" + id, instance: id,
		log: log, done: make(chan struct{}), waiting: map[string]chan struct{}{}}
}

// live reports whether the cache may serve: subscribed, and heard from recently.
func (k *keyInvalidation) live() bool {
	return k.up.Load() && time.Since(time.Unix(0, k.lastHeard.Load())) < keyStaleAfter
}

func (k *keyInvalidation) start(caches ...invalidatedCache) {
	k.caches = caches
	k.ps = k.rdb.Subscribe(context.Background(), k.channel, k.ackTo)
	go k.receive()
}

func (k *keyInvalidation) close() {
	k.closed.Store(true)
	_ = k.ps.Close()
	<-k.done
}

func (k *keyInvalidation) down(err error) {
	if k.up.Swap(false) {
		k.log.Warn("credential caches off: their invalidation subscription failed", slog.String("error", err.Error()))
	}
	k.flush()
}

func (k *keyInvalidation) flush() {
	for _, c := range k.caches {
		c.flush()
	}
}

func (k *keyInvalidation) forget(s subjects) {
	for _, c := range k.caches {
		c.forgetSubjects(s)
	}
}

func (k *keyInvalidation) receive() {
	defer close(k.done)
	ctx := context.Background()
	for !k.closed.Load() {
		msg, err := k.ps.ReceiveTimeout(ctx, keyPingEvery)
		var nerr net.Error
		switch {
		case k.closed.Load():
			return
		case errors.As(err, &nerr) && nerr.Timeout():
			if err := k.ps.Ping(ctx); err != nil {
				k.down(err)
			}
			continue
		case err != nil:
			k.down(err)
			time.Sleep(100 * time.Millisecond) // the next Receive reconnects
			continue
		}
		k.lastHeard.Store(time.Now().UnixNano())
		switch m := msg.(type) {
		case *redis.Subscription:
			// Both channels confirmed (again, after a reconnect): whatever was published while
			// the connection was away is unknown, so start from an empty cache.
			if m.Kind == "subscribe" && m.Count == 2 {
				k.flush()
				k.up.Store(true)
			}
		case *redis.Message:
			k.handle(ctx, m)
		}
	}
}

// handle applies a revocation ("origin nonce k:<id>|u:<id>|f:<id>|t:<id> ...") and acknowledges
// it, or counts an acknowledgement of one of ours.
func (k *keyInvalidation) handle(ctx context.Context, m *redis.Message) {
	if m.Channel == k.ackTo {
		k.mu.Lock()
		ch := k.waiting[m.Payload]
		k.mu.Unlock()
		if ch != nil {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		return
	}
	fields := strings.Fields(m.Payload)
	if len(fields) < 2 {
		return
	}
	k.forget(parseSubjects(fields[2:]))
	origin, nonce := fields[0], fields[1]
	go func() {
		_ = k.rdb.Publish(ctx, strings.TrimSuffix(k.ackTo, k.instance)+origin, nonce).Err() // a lost ack only makes the publisher wait
	}()
}

// publish tells every instance to drop what s names, and waits for their acknowledgements. Call
// it after the PostgreSQL commit.
func (k *keyInvalidation) publish(ctx context.Context, s subjects) {
	k.forget(s) // this instance at once, whatever Redis does
	k.mu.Lock()
	nonce := k.instance[:8] + "-" + uuid.NewString()
	acks := make(chan struct{}, 64)
	k.waiting[nonce] = acks
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		delete(k.waiting, nonce)
		k.mu.Unlock()
	}()
	n, err := k.publishCounted(context.WithoutCancel(ctx), k.instance+" "+nonce+" "+formatSubjects(s))
	if err != nil {
		// Instances that cannot reach Redis either stop serving from their caches within
		// keyStaleAfter; one that still can keeps its entry until the entry's TTL.
		k.log.Error("publishing a revocation failed; other instances drop it within the cache TTL", slog.String("error", err.Error()))
		return
	}
	timeout := time.NewTimer(keyAckWait)
	defer timeout.Stop()
	for range n {
		select {
		case <-acks:
		case <-timeout.C:
			k.log.Warn("not every instance acknowledged a revocation in time", slog.Int64("subscribers", n))
			return
		}
	}
}

// publishCounted publishes payload on the revocation channel and returns how many subscribers
// received it where the subscriptions are: what publish waits acknowledgements for. In Redis
// Cluster a client sends PUBLISH to any node (go-redis treats it as keyless), and the count it
// answers is of that node's own subscribers, while every instance subscribes on the node owning
// the channel's hash slot; a count of 0 from another node made a revocation return before the
// other instances had dropped the key. So there it is sent to that node.
func (k *keyInvalidation) publishCounted(ctx context.Context, payload string) (int64, error) {
	if cc, ok := k.rdb.(*redis.ClusterClient); ok {
		node, err := cc.MasterForKey(ctx, k.channel)
		if err != nil {
			return 0, err
		}
		return node.Publish(ctx, k.channel, payload).Result()
	}
	return k.rdb.Publish(ctx, k.channel, payload).Result()
}

func formatSubjects(s subjects) string {
	var b strings.Builder
	for _, group := range []struct {
		kind string
		ids  []uuid.UUID
	}{{"k", s.keys}, {"u", s.users}, {"f", s.families}} {
		for _, id := range group.ids {
			b.WriteString(" " + group.kind + ":" + id.String())
		}
	}
	for _, t := range s.tokens {
		b.WriteString(" t:" + t)
	}
	return strings.TrimSpace(b.String())
}

// parseSubjects reads formatSubjects' fields, skipping any it does not know (a newer instance's).
func parseSubjects(fields []string) subjects {
	var s subjects
	for _, f := range fields {
		kind, raw, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		if kind == "t" {
			s.tokens = append(s.tokens, raw)
			continue
		}
		id, err := uuid.Parse(raw)
		if err != nil {
			continue
		}
		switch kind {
		case "k":
			s.keys = append(s.keys, id)
		case "u":
			s.users = append(s.users, id)
		case "f":
			s.families = append(s.families, id)
		}
	}
	return s
}
