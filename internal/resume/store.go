// Package resume records the server-sent events of streamed chat generations in Redis Streams
// and replays them, so a client that lost its connection resumes on any instance: what it
// missed byte for byte, then the rest live until the end.
//
// Keys of one generation share the hash tag {g:<generationID>} (one Redis Cluster slot):
//   - <prefix>{g:<id>}:chunks — a Stream, one entry per SSE event, entry id 0-<n> where n is the
//     event's SSE `id:` (1, 2, …); field d holds the event's exact bytes, field e marks the last;
//   - <prefix>{g:<id>}:meta — a hash: the owner (user) and whether the generation ended (state);
//   - <prefix>{g:<id>}:nudge — a pub/sub channel told after each batch of entries, so waiting
//     replays read again at once (see Hub).
//
// While the generation runs both keys expire LiveTTL after the recorder's last heartbeat (a dead
// instance's recording goes away); once it ends they expire Retention later.
package resume

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
)

// Store records and replays generations.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	cfg     config.Resume
	hub     *Hub
	readers chan struct{}  // bounds the XRANGE reads in flight on this instance
	ending  sync.WaitGroup // recordings closed whose last events or end are not in Redis yet
	log     *slog.Logger
}

// New returns a store; hub delivers the nudges (one subscription per instance).
func New(rdb redis.UniversalClient, prefix string, cfg config.Resume, hub *Hub, log *slog.Logger) *Store {
	return &Store{rdb: rdb, prefix: prefix, cfg: cfg, hub: hub, readers: make(chan struct{}, max(cfg.MaxReaders, 1)), log: log}
}

// Wait waits until every closed recording is in Redis and kept for the retention: at shutdown,
// before the Redis client closes.
func (s *Store) Wait() { s.ending.Wait() }

func (s *Store) tag(id uuid.UUID) string          { return s.prefix + "{g:" + id.String() + "}" }
func (s *Store) chunksKey(id uuid.UUID) string    { return s.tag(id) + ":chunks" }
func (s *Store) metaKey(id uuid.UUID) string      { return s.tag(id) + ":meta" }
func (s *Store) nudgeChannel(id uuid.UUID) string { return s.tag(id) + ":nudge" }

// opTimeout bounds each Redis call of the recorder, which runs without a request to bound it.
const opTimeout = 5 * time.Second

// ErrNotFound is a generation that is not recorded, no longer kept, or another user's.
var ErrNotFound = errors.New("resume: no such generation")

// ErrTrimmed is a resume point older than what the bounded recording still holds.
var ErrTrimmed = errors.New("resume: the events after this id are no longer kept")

// ErrLost is a generation whose recording vanished before its end (its instance died).
var ErrLost = errors.New("resume: the generation ended without finishing its recording")

// Owner checks that the generation is recorded and belongs to user; anything else is ErrNotFound,
// so another user's generation cannot be told from a missing one.
func (s *Store) Owner(ctx context.Context, id, user uuid.UUID) error {
	owner, err := s.rdb.HGet(ctx, s.metaKey(id), "user").Result()
	switch {
	case errors.Is(err, redis.Nil):
		return ErrNotFound
	case err != nil:
		return err
	case owner != user.String():
		return ErrNotFound
	}
	return nil
}

// entry is one recorded event.
type entry struct {
	seq  int64
	data string
	last bool
}

// read returns up to count events after seq, holding one of the instance's reader slots.
func (s *Store) read(ctx context.Context, id uuid.UUID, after int64, count int64) ([]entry, error) {
	select {
	case s.readers <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.readers }()
	msgs, err := s.rdb.XRangeN(ctx, s.chunksKey(id), "("+streamID(after), "+", count).Result()
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(msgs))
	for _, m := range msgs {
		seq, err := seqOf(m.ID)
		if err != nil {
			return nil, err
		}
		d, _ := m.Values["d"].(string)
		_, last := m.Values["e"]
		out = append(out, entry{seq: seq, data: d, last: last})
	}
	return out, nil
}

// Check refuses a resume point before what the recording still holds (ErrTrimmed), so the
// request can be answered with a status before the stream starts.
func (s *Store) Check(ctx context.Context, id uuid.UUID, after int64) error {
	first, err := s.read(ctx, id, 0, 1)
	if err != nil {
		return err
	}
	if len(first) > 0 && first[0].seq > after+1 {
		return ErrTrimmed
	}
	return nil
}

func streamID(seq int64) string { return "0-" + strconv.FormatInt(seq, 10) }

func seqOf(id string) (int64, error) {
	if len(id) < 3 || id[:2] != "0-" {
		return 0, errors.New("resume: unexpected stream entry id " + id)
	}
	return strconv.ParseInt(id[2:], 10, 64)
}
