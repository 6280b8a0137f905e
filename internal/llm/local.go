package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"sync/atomic"
	"time"
)

// Local is an offline, deterministic Provider for development and demos. It is not a model:
// it echoes the last user message in a fixed, clearly labelled format, and calls a tool when
// asked to ("call <toolname>"), so that tool round trips can be shown without any upstream.
type Local struct {
	// Delay is waited before each text delta, to make streaming visible in demos.
	Delay time.Duration
}

var _ Provider = (*Local)(nil)

// LocalPrefix starts every text answer of the local provider.
const LocalPrefix = "[local model] "

// NewLocal returns the local provider.
func NewLocal() *Local { return &Local{} }

// Name implements Provider.
func (l *Local) Name() string { return "local" }

// Describe implements Provider: there is no upstream, so the "body" is the request itself.
func (l *Local) Describe(req Request) (json.RawMessage, error) { return json.Marshal(req) }

// Stream implements Provider. The answer depends on the request alone.
func (l *Local) Stream(ctx context.Context, req Request) (Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(l.Name(), err)
	}
	said, results := lastUserTurn(req.Messages)
	id := fmt.Sprintf("msg_local_%016x", hashRequest(req))
	model := req.Model
	if model == "" {
		model = "local"
	}
	s := &localStream{ctx: ctx, delay: l.Delay}
	s.push(Event{Kind: EventStart, MessageID: id, Model: model})
	usage := Usage{InputTokens: countTokens(req), OutputTokens: 0}
	s.push(Event{Kind: EventUsage, Usage: usage})

	if tool := pickTool(req, said); tool != "" {
		s.push(Event{Kind: EventToolCallStart, ToolIndex: 0, ToolID: "toolu_" + id[len("msg_"):], ToolName: tool})
		s.push(Event{Kind: EventToolArgsDelta, ToolIndex: 0, ArgsDelta: "{}"})
		usage.OutputTokens = 3
		s.push(Event{Kind: EventUsage, Usage: usage})
		s.push(Event{Kind: EventStop, StopReason: StopToolUse, RawStopReason: string(StopToolUse)})
		return s, nil
	}

	answer := LocalPrefix + "You said: " + said
	if said == "" && results != "" {
		answer = LocalPrefix + "Tool returned: " + results
	} else if said == "" {
		answer = LocalPrefix + "Nothing to answer."
	}
	stop := Event{Kind: EventStop, StopReason: StopEndTurn, RawStopReason: string(StopEndTurn)}
	words := strings.SplitAfter(answer, " ")
	if cut, seq, ok := firstStop(answer, req.Stop); ok {
		words = strings.SplitAfter(answer[:cut], " ")
		stop = Event{Kind: EventStop, StopReason: StopSequence, RawStopReason: string(StopSequence), StopSequence: seq}
	}
	if req.MaxTokens > 0 && len(words) > req.MaxTokens {
		words = words[:req.MaxTokens]
		stop = Event{Kind: EventStop, StopReason: StopMaxTokens, RawStopReason: string(StopMaxTokens)}
	}
	for _, w := range words {
		if w != "" {
			s.push(Event{Kind: EventTextDelta, Text: w})
		}
	}
	usage.OutputTokens = int64(len(words))
	s.push(Event{Kind: EventUsage, Usage: usage})
	s.push(stop)
	return s, nil
}

// lastUserTurn returns the text of the last user turn and, separately, its tool results.
func lastUserTurn(msgs []Message) (said, results string) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != User {
			continue
		}
		var text, res []string
		for _, p := range msgs[i].Parts {
			switch p.Kind {
			case Text:
				text = append(text, p.Text)
			case ToolResult:
				res = append(res, p.Text)
			}
		}
		return strings.Join(strings.Fields(strings.Join(text, " ")), " "), strings.Join(res, "; ")
	}
	return "", ""
}

// pickTool returns the tool to call, if any: the one named by a forced tool choice, the first
// tool when any call is required, or the one the user asked for with "call <name>".
func pickTool(req Request, said string) string {
	if len(req.Tools) == 0 || said == "" {
		return ""
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case ToolChoiceNone:
			return ""
		case ToolChoiceNamed:
			return tc.Name
		case ToolChoiceRequired:
			return req.Tools[0].Name
		}
	}
	lower := strings.ToLower(said)
	for _, t := range req.Tools {
		if strings.Contains(lower, "call "+strings.ToLower(t.Name)) {
			return t.Name
		}
	}
	return ""
}

// firstStop finds the earliest stop sequence in s.
func firstStop(s string, stops []string) (cut int, seq string, ok bool) {
	cut = len(s) + 1
	for _, st := range stops {
		if i := strings.Index(s, st); st != "" && i >= 0 && i < cut {
			cut, seq, ok = i, st, true
		}
	}
	return cut, seq, ok
}

// countTokens approximates input tokens as words, which is close enough for demos.
func countTokens(req Request) int64 {
	n := len(strings.Fields(req.System))
	for _, m := range req.Messages {
		for _, p := range m.Parts {
			n += len(strings.Fields(p.Text)) + len(p.Input)/4
			switch {
			case p.Kind == Image:
				n += 85 // a flat charge, like a low-detail image
			case p.Kind == Document && p.MediaType == "text/plain":
				n += len(strings.Fields(p.Data))
			case p.Kind == Document:
				n += 1500 // a flat charge, like a few PDF pages
			}
		}
	}
	return int64(max(n, 1))
}

// hashRequest derives stable ids from the conversation.
func hashRequest(req Request) uint64 {
	h := fnv.New64a()
	b, _ := json.Marshal(req)
	_, _ = h.Write(b)
	return h.Sum64()
}

// localStream replays precomputed events, honouring cancellation between them.
type localStream struct {
	ctx    context.Context
	delay  time.Duration
	events []Event
	cur    Event
	err    error
	closed atomic.Bool // Close may come from another goroutine
}

func (s *localStream) push(e Event) { s.events = append(s.events, e) }

// Next implements Stream.
func (s *localStream) Next() bool {
	if s.closed.Load() || s.err != nil || len(s.events) == 0 {
		return false
	}
	if s.delay > 0 && s.events[0].Kind == EventTextDelta {
		t := time.NewTimer(s.delay)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
	}
	if err := s.ctx.Err(); err != nil {
		s.err = contextError("local", err)
		return false
	}
	s.cur, s.events = s.events[0], s.events[1:]
	return true
}

// Event implements Stream.
func (s *localStream) Event() Event { return s.cur }

// Err implements Stream.
func (s *localStream) Err() error { return s.err }

// Close implements Stream.
func (s *localStream) Close() error {
	s.closed.Store(true)
	return nil
}
