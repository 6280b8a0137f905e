package events

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/auth"
)

// ErrBadTicket refuses a ticket that is unknown, expired or already used.
var ErrBadTicket = errors.New("events: invalid ticket")

// Tickets are short-lived single-use stand-ins for a caller's credentials, for browsers that
// cannot set a header on a WebSocket or EventSource. Redis keeps, under the ticket's hash (the
// ticket itself is never stored), the principal that asked for it: its token id or API key id,
// which the connection re-checks, so revoking the credential (logout) also ends it.
type Tickets struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	now    func() time.Time
}

// NewTickets returns the ticket store.
func NewTickets(rdb redis.UniversalClient, prefix string, ttl time.Duration, now func() time.Time) *Tickets {
	return &Tickets{rdb: rdb, prefix: prefix, ttl: ttl, now: now}
}

func (t *Tickets) key(ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return t.prefix + "{rt:" + hex.EncodeToString(sum[:16]) + "}:ticket"
}

// Issue returns a new ticket standing for p, and when it expires.
func (t *Tickets) Issue(ctx context.Context, p auth.Principal) (string, time.Time, error) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	ticket := base64.RawURLEncoding.EncodeToString(raw)
	enc, _ := json.Marshal(p)
	if err := t.rdb.Set(ctx, t.key(ticket), enc, t.ttl).Err(); err != nil {
		return "", time.Time{}, fmt.Errorf("events: store ticket: %w", err)
	}
	return ticket, t.now().Add(t.ttl), nil
}

// Redeem consumes ticket (GETDEL: a second use finds nothing) and returns its principal.
func (t *Tickets) Redeem(ctx context.Context, ticket string) (auth.Principal, error) {
	if ticket == "" || len(ticket) > 128 {
		return auth.Principal{}, ErrBadTicket
	}
	enc, err := t.rdb.GetDel(ctx, t.key(ticket)).Bytes()
	if errors.Is(err, redis.Nil) {
		return auth.Principal{}, ErrBadTicket
	} else if err != nil {
		return auth.Principal{}, fmt.Errorf("events: redeem ticket: %w", err)
	}
	var p auth.Principal
	if err := json.Unmarshal(enc, &p); err != nil {
		return auth.Principal{}, ErrBadTicket
	}
	return p, nil
}
