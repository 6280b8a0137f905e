package events

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/sharedconn"
)

// MaxFrameBytes bounds one event as sent to a client (iOS caps a WebSocket message at 1 MiB;
// events carry ids, not content, so they stay far below).
const MaxFrameBytes = 64 << 10

// ErrTooLarge is returned by Publish for an event whose frame would exceed MaxFrameBytes.
var ErrTooLarge = errors.New("events: event larger than 64 KiB")

// Options configure a Bus.
type Options struct {
	Prefix    string        // the Redis key namespace (CCB_REDIS_PREFIX)
	Retention time.Duration // how long events stay replayable
	MaxEvents int           // events retained per user
	Log       *slog.Logger
	Now       func() time.Time
}

// Bus is the event feed on Redis. Each user's events go to a Stream (ccb:{u:<id>}:events),
// trimmed by count and age and expiring when idle, from which a resuming client replays; the
// same script publishes each event on the user's channel. One Pub/Sub connection per instance
// subscribes to the channels of the users connected to it and fans each event out in process,
// so a connection costs no Redis connection (a blocking XREAD per client would hold one each).
type Bus struct {
	rdb  redis.UniversalClient
	conn sharedconn.Conn // what events are published on
	opt  Options
	log  *slog.Logger
	ps   *redis.PubSub
	done chan struct{}

	// mu guards the local subscribers and orders the SUBSCRIBE/UNSUBSCRIBE commands sent for
	// them, so the channel's state on Redis always follows the last change here.
	mu      sync.Mutex
	users   map[uuid.UUID]*userSubs // local subscribers by user
	pending map[uuid.UUID]int       // SUBSCRIBE commands whose confirmation has not come yet

	obsMu     sync.RWMutex
	observers []Observer
	observed  chan observed // bounded: observers never slow Publish down
}

type userSubs struct {
	subs  map[*Subscription]struct{}
	ready chan struct{} // closed when Redis confirmed the channel's subscription
}

type observed struct {
	userID uuid.UUID
	event  Event
}

// NewBus starts the instance's reader; Close stops it.
func NewBus(rdb redis.UniversalClient, opt Options) *Bus {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{rdb: rdb, conn: sharedconn.Of(rdb), opt: opt, log: opt.Log, done: make(chan struct{}), users: map[uuid.UUID]*userSubs{}, pending: map[uuid.UUID]int{},
		observed: make(chan observed, 1024)}
	// A subscription to a channel nobody publishes on opens the connection now and keeps the
	// receive loop running; user channels are added and removed on it.
	b.ps = rdb.Subscribe(context.Background(), opt.Prefix+"events:instance:"+uuid.NewString())
	go b.receive(b.ps.ChannelWithSubscriptions(redis.WithChannelSize(4096)))
	go b.notifyObservers()
	return b
}

// Close stops the reader and ends every local subscription.
func (b *Bus) Close() error {
	close(b.done)
	err := b.ps.Close()
	b.mu.Lock()
	for _, u := range b.users {
		for s := range u.subs {
			s.end(ErrClosed)
		}
	}
	b.users = map[uuid.UUID]*userSubs{}
	b.mu.Unlock()
	return err
}

func (b *Bus) streamKey(userID uuid.UUID) string {
	return b.opt.Prefix + "{u:" + userID.String() + "}:events"
}
func (b *Bus) channel(userID uuid.UUID) string {
	return b.opt.Prefix + "{u:" + userID.String() + "}:events:live"
}

// AddObserver registers o for every event published on this instance. Observers are called one
// at a time on the bus's own goroutine, never on the publisher's.
func (b *Bus) AddObserver(o Observer) {
	b.obsMu.Lock()
	defer b.obsMu.Unlock()
	b.observers = append(b.observers, o)
}

func (b *Bus) observe(userID uuid.UUID, e Event) {
	b.obsMu.RLock()
	none := len(b.observers) == 0
	b.obsMu.RUnlock()
	if none {
		return
	}
	select {
	case b.observed <- observed{userID, e}:
	default:
		b.log.Warn("events: observer queue full, event not observed", slog.String("type", string(e.Type)), slog.String("id", e.ID))
	}
}

func (b *Bus) notifyObservers() {
	for {
		select {
		case <-b.done:
			return
		case o := <-b.observed:
			b.obsMu.RLock()
			obs := b.observers
			b.obsMu.RUnlock()
			for _, ob := range obs {
				ob.Observe(context.Background(), o.userID, o.event)
			}
		}
	}
}

// receive fans what the Pub/Sub connection delivers out to the local subscribers.
func (b *Bus) receive(ch <-chan any) {
	for m := range ch {
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.confirmed(m.Channel)
			}
		case *redis.Message:
			b.deliver(m.Channel, m.Payload)
		}
	}
}

func (b *Bus) userOfChannel(channel string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(channel, b.opt.Prefix+"{u:")
	if !ok {
		return uuid.Nil, false
	}
	id, ok := strings.CutSuffix(rest, "}:events:live")
	if !ok {
		return uuid.Nil, false
	}
	u, err := uuid.Parse(id)
	return u, err == nil
}

func (b *Bus) confirmed(channel string) {
	u, ok := b.userOfChannel(channel)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending[u] > 1 {
		b.pending[u]--
		return
	}
	delete(b.pending, u)
	if us := b.users[u]; us != nil {
		select {
		case <-us.ready:
		default:
			close(us.ready)
		}
	}
}

func (b *Bus) deliver(channel, payload string) {
	u, ok := b.userOfChannel(channel)
	if !ok {
		return
	}
	parts := strings.SplitN(payload, "\n", 4)
	if len(parts) != 4 {
		return
	}
	f := newFrame(parts[0], Type(parts[1]), parts[2], parts[3])
	b.mu.Lock()
	defer b.mu.Unlock()
	if us := b.users[u]; us != nil {
		for s := range us.subs {
			s.offer(f)
		}
	}
}
