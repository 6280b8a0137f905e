package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Draft is an event not yet published: its type, the session it belongs to (what the
// per-connection session filter looks at; "" for none) and its data, encoded once, by NewDraft.
type Draft struct {
	typ     Type
	session string
	data    json.RawMessage
}

// NewDraft encodes data, a JSON object, for an event of type typ in session ("" for none).
func NewDraft(typ Type, session string, data any) (Draft, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Draft{}, fmt.Errorf("events: encode %s: %w", typ, err)
	}
	return Draft{typ: typ, session: session, data: raw}, nil
}

// sessionOf is what the per-connection session filter looks at.
type sessionOf struct {
	SessionID string `json:"session_id"`
}

// Publish raises an event for userID: stored for replay, delivered to the user's connections on
// every instance, and handed to this instance's observers. Its session is the data's session_id,
// if any. Implements Publisher.
func (b *Bus) Publish(ctx context.Context, userID uuid.UUID, typ Type, data any) error {
	d, err := NewDraft(typ, "", data)
	if err != nil {
		return err
	}
	var sess sessionOf
	_ = json.Unmarshal(d.data, &sess) // data that is not an object has no session
	d.session = sess.SessionID
	return b.PublishAll(ctx, userID, []Draft{d})
}

// maxIDBytes is what the frame adds to the stored body: the id member in front.
const maxIDBytes = len(`"id":"0000000000000-0000000000",`)

// PublishAll raises the drafts for userID, in their order, with one Redis round trip: a burst of
// events (a chat request's) costs one script run instead of one each. A draft whose frame would
// exceed MaxFrameBytes is refused (the error wraps ErrTooLarge) and the others are still
// published, as they were one by one: each tells of something of its own. All the events of one
// call have the same occurred_at, the moment they were published. Implements Publisher.
func (b *Bus) PublishAll(ctx context.Context, userID uuid.UUID, drafts []Draft) error {
	at := b.opt.Now().UTC()
	cutoff := strconv.FormatInt(max(at.Add(-b.opt.Retention).UnixMilli(), 0), 10) + "-0"
	args := make([]any, 0, 4+3*len(drafts))
	args = append(args, b.channel(userID), b.opt.MaxEvents, cutoff, b.opt.Retention.Milliseconds())
	sent := drafts[:0:0]
	var refused error
	for _, d := range drafts {
		enc := appendBody(make([]byte, 0, len(d.data)+96), d.typ, at, d.data)
		if len(enc)+maxIDBytes > MaxFrameBytes {
			refused = errors.Join(refused, fmt.Errorf("%w: %s", ErrTooLarge, d.typ))
			continue
		}
		args = append(args, enc, d.session, string(d.typ))
		sent = append(sent, d)
	}
	if len(sent) == 0 {
		return refused
	}
	ids, err := publishScript.Run(ctx, b.conn.Scripter(), []string{b.streamKey(userID)}, args...).StringSlice()
	if err == nil && len(ids) != len(sent) {
		err = fmt.Errorf("%d ids for %d events", len(ids), len(sent))
	}
	if err != nil {
		return errors.Join(refused, fmt.Errorf("events: publish %d events (%s first): %w", len(sent), sent[0].typ, err))
	}
	for i, d := range sent {
		b.observe(userID, Event{ID: ids[i], Type: d.typ, OccurredAt: at, Data: d.data})
	}
	return refused
}

// publishScript appends each event to the user's stream (bounded by count), publishes
// "id\ntype\nsession\nbody" on the user's channel for it (the reader routes by type and session
// without decoding the body), then trims the stream by age and keeps it alive for the retention.
// It returns the events' ids in order. Being one script, the events of a call are contiguous in
// the stream and on the channel.
// KEYS[1] stream; ARGV: channel, max count, min id (age cutoff), ttl ms, then body, session id,
// type for each event.
var publishScript = redis.NewScript(`
local ids = {}
for i = 5, #ARGV, 3 do
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[i], 's', ARGV[i+1], 't', ARGV[i+2])
  redis.call('PUBLISH', ARGV[1], id .. '\n' .. ARGV[i+2] .. '\n' .. ARGV[i+1] .. '\n' .. ARGV[i])
  ids[#ids+1] = id
end
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return ids
`)

// appendBody appends an event as stored, {"type","occurred_at","data"} without its id (the frame
// puts the id in front), writing the already encoded data as it is rather than encoding it again.
// The type is one of the names declared in events.go, printable ASCII, for which Go's quoting is
// JSON's; the time is encoded as time.Time's MarshalJSON does.
func appendBody(dst []byte, typ Type, at time.Time, data json.RawMessage) []byte {
	dst = strconv.AppendQuote(append(dst, `{"type":`...), string(typ))
	dst = at.AppendFormat(append(dst, `,"occurred_at":"`...), time.RFC3339Nano)
	dst = append(append(dst, `","data":`...), data...)
	return append(dst, '}')
}
