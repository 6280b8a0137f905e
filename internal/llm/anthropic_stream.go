package llm

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"
)

// anthropicStream maps the SDK's Messages stream events onto normalised Events. One upstream
// event can yield several Events (message_start gives Start and Usage), hence the queue.
type anthropicStream struct {
	p      *Anthropic
	ctx    context.Context
	cancel context.CancelFunc
	sdk    *ssestream.Stream[anthropic.MessageStreamEventUnion]

	queue   []Event
	cur     Event
	err     error
	done    bool
	stopped bool // Stop was emitted: the response is complete
	// complete is set at message_stop, the last event: the stream ends there rather than at the
	// end of the HTTP body, and Close reads what is left so the connection can be reused.
	complete atomic.Bool

	usage     Usage
	toolIndex map[int64]int // content block index → index among tool calls
}

// Next implements Stream.
func (s *anthropicStream) Next() bool {
	for len(s.queue) == 0 {
		if s.done {
			return false
		}
		if !s.sdk.Next() {
			s.finish(s.sdk.Err())
			continue
		}
		if ev := s.sdk.Current(); ev.Type == "message_stop" && s.stopped {
			s.done = true
			s.complete.Store(true)
		} else {
			s.translate(ev)
		}
	}
	s.cur, s.queue = s.queue[0], s.queue[1:]
	return true
}

// finish records how the upstream stream ended.
func (s *anthropicStream) finish(err error) {
	s.done = true
	switch {
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
// (content_block_stop, message_stop, thinking and citation deltas) yield nothing; the SDK
// already drops ping events and turns error events into an error.
func (s *anthropicStream) translate(ev anthropic.MessageStreamEventUnion) {
	switch ev.Type {
	case "message_start":
		m := ev.Message
		s.usage = Usage{
			InputTokens:      m.Usage.InputTokens,
			OutputTokens:     m.Usage.OutputTokens,
			CacheReadTokens:  m.Usage.CacheReadInputTokens,
			CacheWriteTokens: m.Usage.CacheCreationInputTokens,
		}
		s.push(Event{Kind: EventStart, MessageID: m.ID, Model: string(m.Model)})
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
		s.mergeDeltaUsage(ev.Usage)
		s.push(Event{Kind: EventUsage, Usage: s.usage})
		if !s.stopped {
			s.stopped = true
			raw := string(ev.Delta.StopReason)
			stop := Event{Kind: EventStop, StopReason: anthropicStopReason(raw), RawStopReason: raw}
			if stop.StopReason == StopSequence {
				stop.StopSequence = ev.Delta.StopSequence
			}
			s.push(stop)
		}
	}
}

// mergeDeltaUsage applies message_delta usage, whose counts are cumulative. output_tokens is
// always there; the input and cache counts only when the API re-reports them (e.g. after server
// tools), so absent fields keep the values from message_start.
func (s *anthropicStream) mergeDeltaUsage(u anthropic.MessageDeltaUsage) {
	s.usage.OutputTokens = u.OutputTokens
	if u.JSON.InputTokens.Valid() {
		s.usage.InputTokens = u.InputTokens
	}
	if u.JSON.CacheReadInputTokens.Valid() {
		s.usage.CacheReadTokens = u.CacheReadInputTokens
	}
	if u.JSON.CacheCreationInputTokens.Valid() {
		s.usage.CacheWriteTokens = u.CacheCreationInputTokens
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
// pool, while an aborted one closes it, and a new TLS connection per request is slow.
func (s *anthropicStream) Close() error {
	if s.complete.Load() {
		abort := time.AfterFunc(drainTimeout, s.cancel)
		for s.sdk.Next() {
		}
		abort.Stop()
	}
	s.cancel()
	err := s.sdk.Close()
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
