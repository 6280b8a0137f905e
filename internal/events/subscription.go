package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

var (
	// ErrSlowConsumer ends a subscription whose buffer filled up: its client reads too slowly.
	ErrSlowConsumer = errors.New("events: slow consumer")
	// ErrClosed ends the subscriptions of a bus that closed (the instance shuts down).
	ErrClosed = errors.New("events: bus closed")
)

// Frame is one event ready to be sent: JSON is {"id","type","occurred_at","data"}.
type Frame struct {
	ID        string
	Type      Type
	SessionID string
	JSON      []byte
}

// newFrame puts the id in front of the stored body {"type",...}.
func newFrame(id string, typ Type, session, enc string) Frame {
	idJSON, _ := json.Marshal(id)
	j := make([]byte, 0, len(enc)+len(idJSON)+8)
	j = append(append(append(j, `{"id":`...), idJSON...), ',')
	j = append(j, strings.TrimPrefix(enc, "{")...)
	return Frame{ID: id, Type: typ, SessionID: session, JSON: j}
}

// Filter narrows a connection's events. Zero values let everything through.
type Filter struct {
	// Types are event types, or prefixes ending in ".*" ("generation.*").
	Types []string
	// SessionID keeps only the events of one session (those whose data names it).
	SessionID string
}

// Match reports whether f lets the frame through. A resync always passes.
func (f Filter) Match(fr Frame) bool {
	if fr.Type == Resync {
		return true
	}
	if f.SessionID != "" && fr.SessionID != f.SessionID {
		return false
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if prefix, ok := strings.CutSuffix(t, "*"); ok && strings.HasPrefix(string(fr.Type), prefix) {
			return true
		}
		if t == string(fr.Type) {
			return true
		}
	}
	return false
}

// Subscription is one connection's live events. Its buffer is bounded: when it is full the
// subscription ends with ErrSlowConsumer instead of holding more.
type Subscription struct {
	bus    *Bus
	user   uuid.UUID
	filter Filter
	ch     chan Frame
	done   chan struct{}
	err    error
}

// C delivers the events.
func (s *Subscription) C() <-chan Frame { return s.ch }

// Done is closed when the subscription ended (slow consumer, bus closed, Close).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is why the subscription ended, or nil while it is live. end writes the cause before it
// closes done, so reading it only once done is closed is what makes the read race-free: a
// writer timing out while the bus ends the subscription (a slow consumer) asks exactly then.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Queued is how many events wait in the buffer.
func (s *Subscription) Queued() int { return len(s.ch) }

// Subscribe registers a live subscription for userID on this instance and returns once Redis
// delivers the user's events to it, so that a replay read afterwards misses nothing.
func (b *Bus) Subscribe(ctx context.Context, userID uuid.UUID, f Filter, buffer int) (*Subscription, error) {
	s := &Subscription{bus: b, user: userID, filter: f, ch: make(chan Frame, buffer), done: make(chan struct{})}
	b.mu.Lock()
	us := b.users[userID]
	if us == nil {
		us = &userSubs{subs: map[*Subscription]struct{}{}, ready: make(chan struct{})}
		b.users[userID] = us
		b.pending[userID]++
		if err := b.ps.Subscribe(ctx, b.channel(userID)); err != nil {
			delete(b.users, userID)
			b.pending[userID]--
			b.mu.Unlock()
			return nil, fmt.Errorf("events: subscribe: %w", err)
		}
	}
	us.subs[s] = struct{}{}
	b.mu.Unlock()
	select {
	case <-us.ready:
		return s, nil
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
}

// Close ends the subscription; the last one of a user unsubscribes the instance from the user's channel.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	s.remove()
}

// remove takes s out of the bus (b.mu held).
func (s *Subscription) remove() {
	b := s.bus
	us := b.users[s.user]
	if us == nil {
		return
	}
	if _, ok := us.subs[s]; !ok {
		return
	}
	delete(us.subs, s)
	s.end(nil)
	if len(us.subs) == 0 {
		delete(b.users, s.user)
		// The write is queued on the Pub/Sub connection; a failure means that connection is
		// gone, and its reconnect subscribes only the channels still wanted.
		_ = b.ps.Unsubscribe(context.Background(), b.channel(s.user))
	}
}

// end closes done once, recording why (b.mu held).
func (s *Subscription) end(err error) {
	select {
	case <-s.done:
	default:
		s.err = err
		close(s.done)
	}
}

// offer hands f to the subscription without waiting (b.mu held): a full buffer ends it.
func (s *Subscription) offer(f Frame) {
	if !s.filter.Match(f) {
		return
	}
	select {
	case s.ch <- f:
	default:
		s.end(ErrSlowConsumer)
		s.remove()
	}
}
