package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
)

// anthropicStream maps the Messages stream events onto normalised Events. One upstream event
// can yield several Events (message_start gives Start and Usage), hence the queue.
type anthropicStream struct {
	p      *Anthropic
	ctx    context.Context
	cancel context.CancelFunc
	detach func() // from then on only cancel ends ctx (see Anthropic.Stream)
	events *sseDecoder

	queue   []Event
	head    int // queue[head:] are still to be handed out; the array is reused, not reallocated
	cur     Event
	err     error
	done    bool
	stopped bool // Stop was emitted: the response is complete
	// complete is set at message_stop, the last event: the stream ends there rather than at the
	// end of the HTTP body, and Close reads what is left so the connection can be reused.
	complete atomic.Bool

	usage     Usage
	toolIndex map[int64]int // content block index → index among tool calls
	requestID string        // the API's request-id header, quoted in support requests
}

// RequestID implements RequestIdentified.
func (s *anthropicStream) RequestID() string { return s.requestID }

// Next implements Stream.
func (s *anthropicStream) Next() bool {
	for s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
		if s.done {
			return false
		}
		if !s.events.Next() {
			s.finish(s.events.Err())
			continue
		}
		s.decode(s.events.Type(), s.events.Data())
	}
	s.cur = s.queue[s.head]
	s.head++
	return true
}

// anthropicEvent is what this package reads of a Messages stream event, whichever its type. It
// is decoded with encoding/json instead of into the SDK's MessageStreamEventUnion, whose
// decoder cost about 2.6 KB of garbage per event (most of the relay's allocations) and a
// corresponding share of its CPU time.
type anthropicEvent struct {
	Type    string `json:"type"`
	Index   int64  `json:"index"`
	Message struct {
		ID    string         `json:"id"`
		Model string         `json:"model"`
		Usage anthropicUsage `json:"usage"`
	} `json:"message"`
	ContentBlock struct {
		Type string `json:"type"`
		Text string `json:"text"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"content_block"`
	Delta struct {
		Type         string `json:"type"`
		Text         string `json:"text"`
		PartialJSON  string `json:"partial_json"`
		StopReason   string `json:"stop_reason"`
		StopSequence string `json:"stop_sequence"`
	} `json:"delta"`
	Usage anthropicUsage `json:"usage"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// anthropicUsage holds token counts; nil marks a count the event did not carry.
type anthropicUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
}

// decode handles one server-sent event: pings and empty events are skipped, an error event
// ends the stream with the API's error, and message_stop after the stop reason ends it cleanly.
func (s *anthropicStream) decode(typ string, data []byte) {
	if typ == "ping" || typ == "" || len(bytes.TrimSpace(data)) == 0 {
		return
	}
	var ev anthropicEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		s.finish(connError(s.p.Name(), s.p.apiKey, "undecodable upstream event "+typ, err))
		return
	}
	switch {
	case typ == "error":
		s.finish(s.p.apiError(0, ev.Error.Type, ev.Error.Message, nil))
	case ev.Type == "message_stop" && s.stopped:
		s.done = true
		s.complete.Store(true)
		s.detach()
	default:
		s.translate(ev)
	}
}

// finish records how the upstream stream ended.
func (s *anthropicStream) finish(err error) {
	s.done = true
	var known *Error
	switch {
	case errors.As(err, &known):
		s.err = known
	case err != nil:
		s.err = s.p.classify(s.ctx, err)
	case !s.stopped && s.ctx.Err() != nil:
		s.err = contextError(s.p.Name(), context.Cause(s.ctx))
	case !s.stopped:
		// EOF without message_delta: the connection was cut, the answer is incomplete.
		s.err = connError(s.p.Name(), "", "upstream stream ended before the message was complete", nil)
	}
	s.cancel()
}

// translate queues the Events for one upstream event. Unknown and uninteresting events
// (content_block_stop, thinking and citation deltas) yield nothing; decode has already dealt
// with pings, error events and the final message_stop.
func (s *anthropicStream) translate(ev anthropicEvent) {
	switch ev.Type {
	case "message_start":
		m := ev.Message
		s.usage = Usage{}
		s.mergeUsage(m.Usage)
		s.push(Event{Kind: EventStart, MessageID: m.ID, Model: m.Model})
		s.push(Event{Kind: EventUsage, Usage: s.usage})
	case "content_block_start":
		b := ev.ContentBlock
		switch b.Type {
		case "text":
			if b.Text != "" {
				s.push(Event{Kind: EventTextDelta, Text: b.Text})
			}
		case "tool_use":
			i := len(s.toolIndex)
			s.toolIndex[ev.Index] = i
			s.push(Event{Kind: EventToolCallStart, ToolIndex: i, ToolID: b.ID, ToolName: b.Name})
		}
	case "content_block_delta":
		d := ev.Delta
		switch d.Type {
		case "text_delta":
			if d.Text != "" {
				s.push(Event{Kind: EventTextDelta, Text: d.Text})
			}
		case "input_json_delta":
			i, ok := s.toolIndex[ev.Index]
			if ok && d.PartialJSON != "" {
				s.push(Event{Kind: EventToolArgsDelta, ToolIndex: i, ArgsDelta: d.PartialJSON})
			}
		}
	case "message_delta":
		s.mergeUsage(ev.Usage)
		s.push(Event{Kind: EventUsage, Usage: s.usage})
		if !s.stopped {
			s.stopped = true
			raw := ev.Delta.StopReason
			stop := Event{Kind: EventStop, StopReason: anthropicStopReason(raw), RawStopReason: raw}
			if stop.StopReason == StopSequence {
				stop.StopSequence = ev.Delta.StopSequence
			}
			s.push(stop)
		}
	}
}

// mergeUsage applies the counts an event carries. message_delta's are cumulative: output_tokens
// is always there, the input and cache counts only when the API re-reports them (e.g. after
// server tools), so absent ones keep the values from message_start.
func (s *anthropicStream) mergeUsage(u anthropicUsage) {
	setIfPresent(&s.usage.InputTokens, u.InputTokens)
	setIfPresent(&s.usage.OutputTokens, u.OutputTokens)
	setIfPresent(&s.usage.CacheReadTokens, u.CacheReadInputTokens)
	setIfPresent(&s.usage.CacheWriteTokens, u.CacheCreationInputTokens)
}

// setIfPresent takes a count the event carries; a negative one (never sent by the API) is
// ignored, because a negative count would turn into a negative cost and refund a budget.
func setIfPresent(dst, v *int64) {
	if v != nil && *v >= 0 {
		*dst = *v
	}
}

func (s *anthropicStream) push(e Event) { s.queue = append(s.queue, e) }

// Event implements Stream.
func (s *anthropicStream) Event() Event { return s.cur }

// Err implements Stream.
func (s *anthropicStream) Err() error { return s.err }

// drainTimeout bounds the wait for the end of the HTTP body after message_stop.
const drainTimeout = time.Second

// Close implements Stream: cancelling the context aborts the HTTP request, which closes the
// upstream connection even if the body is mid-read. It may be called from another goroutine
// to abort a blocked Next, which then returns false with a cancellation error.
//
// After a complete answer it first reads the rest of the body (normally just the end of the
// chunked response, already on its way): a body read to its end returns the connection to the
// pool, while an aborted one closes it, and a new TLS connection per request is slow. The
// caller's context no longer ends the request then, so that read may follow the response's end
// (chat.Generation.FinishInBackground); drainTimeout bounds it.
func (s *anthropicStream) Close() error {
	if s.complete.Load() {
		abort := time.AfterFunc(drainTimeout, s.cancel)
		for s.events.Next() {
		}
		abort.Stop()
	}
	s.cancel()
	err := s.events.Close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// anthropicStopReason maps every documented Anthropic stop reason; anything newer is StopOther
// and the caller keeps the raw word.
func anthropicStopReason(raw string) StopReason {
	switch anthropic.StopReason(raw) {
	case anthropic.StopReasonEndTurn:
		return StopEndTurn
	case anthropic.StopReasonStopSequence:
		return StopSequence
	case anthropic.StopReasonMaxTokens:
		return StopMaxTokens
	case anthropic.StopReasonToolUse:
		return StopToolUse
	case anthropic.StopReasonRefusal:
		return StopRefusal
	case anthropic.StopReasonPauseTurn:
		return StopPauseTurn
	case anthropic.StopReasonModelContextWindowExceeded:
		return StopContextWindow
	default:
		return StopOther
	}
}
