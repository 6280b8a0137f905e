package push

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Sender is what the notifier needs of APNs (the Client).
type Sender interface {
	Send(ctx context.Context, n Notification) (Response, error)
}

// Settings tune the notifier.
type Settings struct {
	Topic     string        // the app's bundle id
	Workers   int           // sends at once
	QueueSize int           // jobs waiting; past it new ones are dropped
	Retries   int           // retries after 429, 5xx or a transport error
	RetryBase time.Duration // first backoff, doubled per retry, with jitter
	// Expiry is how long APNs keeps a notification for a device that is off.
	Expiry time.Duration
}

// Notifier turns generation events into notifications for users who are not connected. It is an
// events.Observer: Observe only queues (never blocking the publisher, so never a request); a few
// workers send, and Close drains what is queued.
type Notifier struct {
	sender   Sender
	store    *store.Store
	presence events.Presence
	set      Settings
	now      func() time.Time
	log      *slog.Logger

	mu      sync.RWMutex // guards closed against Observe sending on a closed queue
	closed  bool
	queue   chan job
	workers sync.WaitGroup
	// ctx ends the sends in flight when Close's drain deadline passes.
	ctx    context.Context
	cancel context.CancelFunc
}

type job struct {
	userID uuid.UUID
	event  events.Event
}

var _ events.Observer = (*Notifier)(nil)

// NewNotifier starts the workers; Close stops them.
func NewNotifier(sender Sender, st *store.Store, presence events.Presence, set Settings, now func() time.Time, log *slog.Logger) *Notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{sender: sender, store: st, presence: presence, set: set, now: now, log: log,
		queue: make(chan job, max(set.QueueSize, 1)), ctx: ctx, cancel: cancel}
	for range max(set.Workers, 1) {
		n.workers.Add(1)
		go n.work()
	}
	return n
}

// Observe queues a notification for the events that concern a user away from the app.
func (n *Notifier) Observe(_ context.Context, userID uuid.UUID, e events.Event) {
	if e.Type != events.GenerationCompleted && e.Type != events.GenerationFailed {
		return
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return
	}
	select {
	case n.queue <- job{userID: userID, event: e}:
	default:
		n.log.Warn("push: queue full, notification dropped", slog.String("user_id", userID.String()), slog.String("event_id", e.ID))
	}
}

// Close stops taking events and sends what is queued, until ctx ends (then in-flight sends are
// abandoned).
func (n *Notifier) Close(ctx context.Context) {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		n.cancel()
		<-done
	}
	n.cancel()
}

func (n *Notifier) work() {
	defer n.workers.Done()
	for j := range n.queue {
		if n.ctx.Err() != nil {
			continue // abandoned: drain without sending
		}
		if err := n.notify(n.ctx, j); err != nil {
			n.log.Error("push: notify", slog.String("user_id", j.userID.String()), slog.String("event_id", j.event.ID), slog.String("error", err.Error()))
		}
	}
}

// notify sends j's event to each of the user's devices, unless the user is connected (the live
// feed tells them already). When presence cannot be read, the notification goes: a duplicate
// is better than a missed reply.
func (n *Notifier) notify(ctx context.Context, j job) error {
	online, err := n.presence.Online(ctx, j.userID)
	if err != nil {
		n.log.Warn("push: presence unknown, notifying", slog.String("user_id", j.userID.String()), slog.String("error", err.Error()))
	}
	if online {
		return nil
	}
	var d generationData
	_ = json.Unmarshal(j.event.Data, &d) // missing ids only make the alert generic
	q := n.store.Queries()
	var pc db.PushContextRow
	if sid, err := uuid.Parse(d.SessionID); err == nil {
		pc, err = q.PushContext(ctx, db.PushContextParams{SessionID: sid, UserID: j.userID})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	devices, err := q.PushDevices(ctx, j.userID)
	if err != nil {
		return err
	}
	body := buildPayload(j.event.Type, d, pc)
	for _, dev := range devices {
		if dev.BundleID != n.set.Topic {
			continue
		}
		n.deliver(ctx, dev, Notification{Environment: dev.Environment, DeviceToken: dev.Token, Topic: n.set.Topic,
			CollapseID: d.GenerationID, Expiration: n.now().Add(n.set.Expiry), Payload: body})
	}
	return nil
}

// deliver sends to one device under Apple's documented answers: a dead token is forgotten,
// throttling and server errors are retried with backoff (bounded), anything else is logged.
func (n *Notifier) deliver(ctx context.Context, dev db.Device, note Notification) {
	attrs := []any{slog.String("device_id", dev.ID.String()), slog.String("user_id", dev.UserID.String())}
	for attempt := 0; ; attempt++ {
		r, err := n.sender.Send(ctx, note)
		retryable := err != nil || r.Status == http.StatusTooManyRequests || r.Status >= 500
		switch {
		case retryable && attempt < n.set.Retries:
			if !sleep(ctx, backoff(n.set.RetryBase, attempt)) {
				return
			}
			continue
		case err != nil:
			n.log.Warn("push: APNs unreachable, giving up", append(attrs, slog.String("error", err.Error()))...)
		case r.Status == http.StatusOK:
		case r.Status == http.StatusGone, r.Status == http.StatusBadRequest && r.Reason == "BadDeviceToken":
			n.forget(ctx, dev, r, attrs)
		default:
			n.log.Warn("push: APNs refused the notification", append(attrs, slog.Int("status", r.Status), slog.String("reason", r.Reason))...)
		}
		return
	}
}

// forget removes a token APNs no longer accepts. After a 410 only a registration from before the
// moment Apple names goes (the app may have registered the token again since).
func (n *Notifier) forget(ctx context.Context, dev db.Device, r Response, attrs []any) {
	since := n.now()
	if r.Status == http.StatusGone && !r.InvalidSince.IsZero() {
		since = r.InvalidSince
	}
	removed, err := n.store.Queries().ForgetDeviceToken(ctx, db.ForgetDeviceTokenParams{Token: dev.Token, InvalidSince: since})
	if err != nil {
		n.log.Error("push: forget a dead token", append(attrs, slog.String("error", err.Error()))...)
		return
	}
	n.log.Info("push: device token no longer valid", append(attrs, slog.String("reason", r.Reason), slog.Int64("removed", removed))...)
}

// backoff is base·2^attempt, jittered to 50–150 % so retries from many workers spread out.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 16)
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// sleep waits d unless ctx ends first (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
