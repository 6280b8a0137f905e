package events

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Presence of a user's connections across instances: a sorted set ccb:{u:<id>}:conns of
// connection ids scored by when they lapse. A live connection refreshes its entry every
// heartbeat; one whose instance died lapses after the TTL.

func (b *Bus) connsKey(userID uuid.UUID) string {
	return b.opt.Prefix + "{u:" + userID.String() + "}:conns"
}

// acquireScript drops lapsed entries, refuses past the cap (ARGV[4] > 0), then adds the connection.
// KEYS[1] conns; ARGV: now ms, lapse ms, conn id, cap, ttl ms.
var acquireScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local cap = tonumber(ARGV[4])
if cap > 0 and redis.call('ZCARD', KEYS[1]) >= cap then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`)

// ErrTooManyConnections refuses a connection over the per-user cap.
var ErrTooManyConnections = fmt.Errorf("events: too many connections")

// Connection is one live connection's presence entry.
type Connection struct {
	bus  *Bus
	user uuid.UUID
	id   string
	ttl  time.Duration
}

// Connect records a live connection of userID, refused with ErrTooManyConnections when the user
// already holds maxConns (0: no cap). ttl is how long the entry lives without a Refresh.
func (b *Bus) Connect(ctx context.Context, userID uuid.UUID, maxConns int, ttl time.Duration) (*Connection, error) {
	c := &Connection{bus: b, user: userID, id: uuid.NewString(), ttl: ttl}
	now := b.opt.Now()
	ok, err := acquireScript.Run(ctx, b.rdb, []string{b.connsKey(userID)}, now.UnixMilli(), now.Add(ttl).UnixMilli(), c.id, maxConns,
		ttl.Milliseconds()).Int()
	if err != nil {
		return nil, fmt.Errorf("events: presence: %w", err)
	}
	if ok == 0 {
		return nil, ErrTooManyConnections
	}
	return c, nil
}

// Refresh extends the entry by its TTL.
func (c *Connection) Refresh(ctx context.Context) error {
	key := c.bus.connsKey(c.user)
	_, err := c.bus.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, key, redis.Z{Score: float64(c.bus.opt.Now().Add(c.ttl).UnixMilli()), Member: c.id})
		p.PExpire(ctx, key, c.ttl)
		return nil
	})
	return err
}

// Release removes the entry.
func (c *Connection) Release(ctx context.Context) error {
	return c.bus.rdb.ZRem(ctx, c.bus.connsKey(c.user), c.id).Err()
}

// Online reports whether userID has a live connection on any instance. Implements Presence.
func (b *Bus) Online(ctx context.Context, userID uuid.UUID) (bool, error) {
	n, err := b.rdb.ZCount(ctx, b.connsKey(userID), strconv.FormatInt(b.opt.Now().UnixMilli(), 10), "+inf").Result()
	if err != nil {
		return false, fmt.Errorf("events: presence: %w", err)
	}
	return n > 0, nil
}

var (
	_ Publisher = (*Bus)(nil)
	_ Presence  = (*Bus)(nil)
)
