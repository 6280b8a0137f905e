package resume

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Recording is one generation being recorded. Numbered numbers each event and queues it; a
// goroutine, running only while there is something to write (see eventQueue), writes the queue
// to Redis in batches (one MULTI round trip per batch), so the stream never waits on Redis for an
// event — only when the queue is full, which bounds the memory a slow Redis can take. A Redis
// failure ends the recording (logged once); the stream goes on without.
type Recording struct {
	s     *Store
	id    uuid.UUID
	seq   int64
	queue *eventQueue
	done  chan struct{}
	once  sync.Once
	ok    bool // written by the writer goroutine (one at a time, handed over by the queue), read after done
}

// queueSize is how many events may wait for Redis before Numbered blocks; batchSize how many one
// round trip writes.
const (
	queueSize = 1024
	batchSize = 256
)

// Begin records the owner of a new generation and starts its recording. The owner is written
// before Begin returns, so a client that loses its connection at once can already resume.
func (s *Store) Begin(ctx context.Context, id, user uuid.UUID) (*Recording, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.metaKey(id), "user", user.String(), "state", "running")
		p.PExpire(ctx, s.metaKey(id), s.cfg.LiveTTL)
		return nil
	})
	if err != nil {
		return nil, err
	}
	r := &Recording{s: s, id: id, done: make(chan struct{}), ok: true}
	r.queue = newEventQueue(func() { go r.write() })
	r.queue.heartbeat(max(s.cfg.LiveTTL/3, time.Millisecond))
	return r, nil
}

// Numbered numbers event (one complete SSE event, ending in a blank line), queues it and returns
// it with its `id:` line first, as the client is to receive it. last marks the final event. Calls
// must not overlap (the stream's writer serialises them) and none may follow Close. A nil
// Recording (a stream not recorded) returns event as it is.
func (r *Recording) Numbered(event string, last bool) string {
	if r == nil {
		return event
	}
	r.seq++
	text := "id: " + strconv.FormatInt(r.seq, 10) + "\n" + event
	r.queue.push(entry{seq: r.seq, data: text, last: last})
	return text
}

// Close ends the recording without waiting for Redis: the stream's response ends at once (a
// last write and the end's round trip, waited for here, held the connection open about half a
// millisecond after [DONE]). A goroutine waits until every queued event is in Redis, then starts
// the recording's retention; Store.Wait waits for those still running. A replay needs neither:
// it ends at the event marked last, which is written (and nudged) like any other.
func (r *Recording) Close() {
	if r == nil {
		return
	}
	r.once.Do(func() {
		r.queue.close()
		r.s.ending.Go(r.end)
	})
}

// end waits for the writer to finish, then keeps the ended recording for the retention.
func (r *Recording) end() {
	<-r.done
	if !r.ok {
		return
	}
	s := r.s
	err := r.pipelined(func(ctx context.Context, p redis.Pipeliner) {
		p.HSet(ctx, s.metaKey(r.id), "state", "ended")
		p.PExpire(ctx, s.metaKey(r.id), s.cfg.Retention)
		p.PExpire(ctx, s.chunksKey(r.id), s.cfg.Retention)
		p.Publish(ctx, s.nudgeChannel(r.id), "")
	})
	if err != nil {
		s.log.Warn("ending a stream recording failed; it expires by itself", slog.String("generation_id", r.id.String()), slog.String("error", err.Error()))
	}
}

// write writes what the queue hands it, in batches, until it has nothing more (the heartbeat
// keeps the keys alive while the generation runs); after the queue's end it closes done.
func (r *Recording) write() {
	var batch []entry // grows to the largest batch taken, usually an event or two
	for {
		var write, ended bool
		batch, write, ended = r.queue.take(batch[:0])
		if !write {
			if ended {
				close(r.done)
			}
			return
		}
		r.flush(batch)
		clear(batch) // the events' text is in Redis now
	}
}

// flush writes batch (none: a heartbeat) with the keys' refreshed lifetime and a nudge. After a
// failure it only drains: the recording is incomplete, and replaying part of it would lie.
func (r *Recording) flush(batch []entry) {
	if !r.ok {
		return
	}
	s := r.s
	err := r.pipelined(func(ctx context.Context, p redis.Pipeliner) {
		for _, e := range batch {
			values := []any{"d", e.data}
			if e.last {
				values = append(values, "e", "1")
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: s.chunksKey(r.id), MaxLen: s.cfg.MaxChunks, Approx: true, ID: streamID(e.seq), Values: values})
		}
		p.PExpire(ctx, s.metaKey(r.id), s.cfg.LiveTTL)
		p.PExpire(ctx, s.chunksKey(r.id), s.cfg.LiveTTL)
		if len(batch) > 0 {
			p.Publish(ctx, s.nudgeChannel(r.id), "")
		}
	})
	if err != nil {
		r.ok = false
		s.log.Error("recording a chat stream failed; it cannot be resumed", slog.String("generation_id", r.id.String()), slog.String("error", err.Error()))
		// Without its owner the partial recording answers 404 rather than a replay that stops short.
		dctx, dcancel := context.WithTimeout(context.Background(), opTimeout)
		defer dcancel()
		s.rdb.Del(dctx, s.metaKey(r.id), s.chunksKey(r.id))
	}
}

// pipelined sends what fn queues as one MULTI round trip, bounded by opTimeout (the recorder
// runs without a request to bound it).
func (r *Recording) pipelined(fn func(context.Context, redis.Pipeliner)) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := r.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		fn(ctx, p)
		return nil
	})
	return err
}
