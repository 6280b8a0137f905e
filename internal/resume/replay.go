package resume

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// readBatch is how many events one XRANGE returns: large enough that a long replay is few round
// trips, small enough that one read holds its connection only briefly. The first read is
// smaller, so the first replayed byte does not wait for a full batch.
const (
	firstBatch = 32
	readBatch  = 512
)

// Replay writes the events after seq after, as recorded, then the new ones as they are recorded
// (write gets each read's events together, so a catching-up client is flushed once per read),
// until the last (nil), ctx ends (its error), write fails (its error), the recording turns out
// to be cut (ErrTrimmed) or vanished before its end (ErrLost). Call Owner first.
func (s *Store) Replay(ctx context.Context, id uuid.UUID, after int64, write func([]string) error) error {
	w := s.hub.watch(s.nudgeChannel(id)) // before the first read: no nudge between them is lost
	defer w.Close()
	poll := time.NewTimer(s.cfg.Poll)
	defer poll.Stop()
	count := int64(firstBatch)
	for {
		entries, err := s.read(ctx, id, after, count)
		if err != nil {
			return err
		}
		if len(entries) > 0 && entries[0].seq != after+1 {
			return ErrTrimmed
		}
		batch := make([]string, 0, len(entries))
		last := false
		for _, e := range entries {
			batch = append(batch, e.data)
			after, last = e.seq, e.last
			if last {
				break
			}
		}
		if len(batch) > 0 {
			if err := write(batch); err != nil {
				return err
			}
		}
		if last {
			return nil
		}
		if int64(len(entries)) == count {
			count = readBatch
			continue
		}
		if !poll.Stop() {
			select {
			case <-poll.C:
			default:
			}
		}
		poll.Reset(s.cfg.Poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.C:
		case <-poll.C:
			if err := s.alive(ctx, id); err != nil {
				return err
			}
		}
	}
}

// alive reports ErrLost once the generation's owner record is gone before its last event.
func (s *Store) alive(ctx context.Context, id uuid.UUID) error {
	_, err := s.rdb.HGet(ctx, s.metaKey(id), "user").Result()
	if errors.Is(err, redis.Nil) {
		return ErrLost
	}
	return err
}
