package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// ErrBadEventID is returned for a Last-Event-ID that is not an event id of this feed.
var ErrBadEventID = errors.New("events: not an event id")

// replayPage is how many entries one XRANGE reads.
const replayPage = 200

// streamID is a Redis stream id, ms-seq, compared numerically.
type streamID struct{ ms, seq uint64 }

func parseID(s string) (streamID, error) {
	a, b, ok := strings.Cut(s, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return streamID{}, ErrBadEventID
	}
	return streamID{ms, seq}, nil
}

func (a streamID) less(b streamID) bool { return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq) }

// After reports whether event id a comes after b (both valid ids).
func After(a, b string) bool {
	x, err1 := parseID(a)
	y, err2 := parseID(b)
	return err1 == nil && err2 == nil && y.less(x)
}

// ValidID reports whether s is an event id of this feed.
func ValidID(s string) bool { _, err := parseID(s); return err == nil }

// Replay returns the user's retained events after afterID that f lets through, oldest first.
// When events after afterID are no longer retained (older than the retention or trimmed by
// count) it returns a single resync frame instead: the client must call /v1/sync.
func (b *Bus) Replay(ctx context.Context, userID uuid.UUID, afterID string, f Filter) ([]Frame, error) {
	after, err := parseID(afterID)
	if err != nil {
		return nil, err
	}
	key := b.streamKey(userID)
	cutoff := uint64(max(b.opt.Now().Add(-b.opt.Retention).UnixMilli(), 0))
	first, err := b.rdb.XRangeN(ctx, key, "-", "+", 1).Result()
	if err != nil {
		return nil, fmt.Errorf("events: replay: %w", err)
	}
	switch {
	case len(first) == 0 && after.ms >= cutoff: // nothing published since: nothing missed
		return nil, nil
	case len(first) == 0, after.ms < cutoff, after.less(mustID(first[0].ID)):
		// Older than the retention, or events after it were trimmed by count.
		return b.resync(ctx, key, afterID)
	}
	var out []Frame
	start := "(" + afterID
	for {
		page, err := b.rdb.XRangeN(ctx, key, start, "+", replayPage).Result()
		if err != nil {
			return nil, fmt.Errorf("events: replay: %w", err)
		}
		for _, m := range page {
			if fr := frameOf(m); f.Match(fr) {
				out = append(out, fr)
			}
		}
		if len(page) < replayPage {
			return out, nil
		}
		start = "(" + page[len(page)-1].ID
	}
}

func mustID(s string) streamID { id, _ := parseID(s); return id }

func frameOf(m redis.XMessage) Frame {
	enc, _ := m.Values["e"].(string)
	typ, _ := m.Values["t"].(string)
	sess, _ := m.Values["s"].(string)
	return newFrame(m.ID, Type(typ), sess, enc)
}

// resync is the frame telling a client that what it missed is gone. Its id is the newest
// retained event's, so a client resuming from it gets only what follows.
func (b *Bus) resync(ctx context.Context, key, afterID string) ([]Frame, error) {
	id := afterID
	last, err := b.rdb.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return nil, fmt.Errorf("events: replay: %w", err)
	}
	if len(last) > 0 {
		id = last[0].ID
	}
	data, _ := json.Marshal(map[string]string{"reason": "retention", "last_event_id": afterID, "sync": "/v1/sync"})
	enc := appendBody(nil, Resync, b.opt.Now().UTC(), data)
	return []Frame{newFrame(id, Resync, "", string(enc))}, nil
}
