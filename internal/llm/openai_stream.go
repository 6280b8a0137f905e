package llm

import (
	"context"
	"errors"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// openaiStream maps Chat Completions chunks onto normalised Events. The finish reason arrives
// before the usage chunk, so Stop is held back until the stream ends, keeping Usage first.
type openaiStream struct {
	p      *OpenAICompatible
	ctx    context.Context
	cancel context.CancelFunc
	sdk    *ssestream.Stream[openai.ChatCompletionChunk]

	queue []Event
	cur   Event
	err   error
	done  bool

	started   bool
	sawUsage  bool
	finish    string
	toolIndex map[int64]int // upstream tool call index → our index, in order of appearance
}

// Next implements Stream.
func (s *openaiStream) Next() bool {
	for len(s.queue) == 0 {
		if s.done {
			return false
		}
		if !s.sdk.Next() {
			s.end(s.sdk.Err())
			continue
		}
		s.translate(s.sdk.Current())
	}
	s.cur, s.queue = s.queue[0], s.queue[1:]
	return true
}

func (s *openaiStream) translate(c openai.ChatCompletionChunk) {
	if !s.started {
		s.started = true
		s.push(Event{Kind: EventStart, MessageID: c.ID, Model: c.Model})
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // we never ask for n > 1
		}
		if ch.Delta.Content != "" {
			s.push(Event{Kind: EventTextDelta, Text: ch.Delta.Content})
		}
		for _, tc := range ch.Delta.ToolCalls {
			i, ok := s.toolIndex[tc.Index]
			if !ok {
				i = len(s.toolIndex)
				s.toolIndex[tc.Index] = i
				s.push(Event{Kind: EventToolCallStart, ToolIndex: i, ToolID: tc.ID, ToolName: tc.Function.Name})
			}
			if tc.Function.Arguments != "" {
				s.push(Event{Kind: EventToolArgsDelta, ToolIndex: i, ArgsDelta: tc.Function.Arguments})
			}
		}
		if ch.FinishReason != "" {
			s.finish = ch.FinishReason
		}
	}
	if c.JSON.Usage.Valid() {
		s.sawUsage = true
		s.push(Event{Kind: EventUsage, Usage: openaiUsage(c.Usage)})
	}
}

// end records how the stream ended and queues Stop after a complete answer.
func (s *openaiStream) end(err error) {
	s.done = true
	defer s.cancel()
	switch {
	case err != nil:
		s.err = s.p.classify(s.ctx, err)
	case s.finish == "" && s.ctx.Err() != nil:
		s.err = contextError(s.p.name, context.Cause(s.ctx)) // closed by our caller
	case s.finish == "":
		s.err = connError(s.p.name, "", "upstream stream ended without a finish reason", nil)
	default:
		if !s.sawUsage {
			// Some servers ignore include_usage; callers still get the Usage they rely on.
			s.push(Event{Kind: EventUsage})
		}
		s.push(Event{Kind: EventStop, StopReason: openaiStopReason(s.finish), RawStopReason: s.finish})
	}
}

// openaiUsage converts usage; prompt_tokens includes cached tokens, our InputTokens does not.
func openaiUsage(u openai.CompletionUsage) Usage {
	cached := u.PromptTokensDetails.CachedTokens
	written := u.PromptTokensDetails.CacheWriteTokens
	return Usage{
		InputTokens:      max(u.PromptTokens-cached-written, 0),
		OutputTokens:     u.CompletionTokens,
		CacheReadTokens:  cached,
		CacheWriteTokens: written,
	}
}

// openaiStopReason maps Chat Completions finish reasons. "stop" covers both the natural end
// and a stop sequence: the API does not tell them apart.
func openaiStopReason(raw string) StopReason {
	switch raw {
	case "stop":
		return StopEndTurn
	case "length":
		return StopMaxTokens
	case "tool_calls", "function_call":
		return StopToolUse
	case "content_filter":
		return StopRefusal
	default:
		return StopOther
	}
}

func (s *openaiStream) push(e Event) { s.queue = append(s.queue, e) }

// Event implements Stream.
func (s *openaiStream) Event() Event { return s.cur }

// Err implements Stream.
func (s *openaiStream) Err() error { return s.err }

// Close implements Stream; cancelling aborts the upstream HTTP request. Like Anthropic's, it
// may be called from another goroutine to abort a blocked Next.
func (s *openaiStream) Close() error {
	s.cancel()
	err := s.sdk.Close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
