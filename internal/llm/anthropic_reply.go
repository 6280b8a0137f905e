package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
)

// anthropicMessage is what this package reads of a non-streamed Messages response.
type anthropicMessage struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Content []struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	} `json:"content"`
	StopReason   string         `json:"stop_reason"`
	StopSequence string         `json:"stop_sequence"`
	Usage        anthropicUsage `json:"usage"`
}

// reply sends body (with "stream": false) and reads the whole message: decoding one JSON body
// costs far less than a stream of events, and a client that does not stream sees nothing
// before the end anyway. The message comes back as a Stream of the events a streamed answer
// would give, so retries, fallbacks, the tool loop, usage and cost treat both alike; HTTP
// errors, connection failures and cancellation are classified as for a stream.
func (a *Anthropic) reply(ctx context.Context, body []byte) (Stream, error) {
	resp, err := a.post(ctx, body)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(resp.Body) // to its end, so the connection is reused
	_ = resp.Body.Close()
	if err != nil {
		return nil, a.classify(ctx, err)
	}
	var m anthropicMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, connError(a.Name(), a.apiKey, "undecodable upstream message", err)
	}
	return &replayStream{events: messageEvents(m), requestID: resp.Header.Get("Request-Id")}, nil
}

// messageEvents are the events a stream of message m gives: Start, the usage, the text and tool
// calls in order, then the final usage and Stop.
func messageEvents(m anthropicMessage) []Event {
	var u Usage
	setIfPresent(&u.InputTokens, m.Usage.InputTokens)
	setIfPresent(&u.OutputTokens, m.Usage.OutputTokens)
	setIfPresent(&u.CacheReadTokens, m.Usage.CacheReadInputTokens)
	setIfPresent(&u.CacheWriteTokens, m.Usage.CacheCreationInputTokens)
	events := make([]Event, 0, len(m.Content)+4)
	events = append(events, Event{Kind: EventStart, MessageID: m.ID, Model: m.Model}, Event{Kind: EventUsage, Usage: u})
	tools := 0
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			if b.Text != "" {
				events = append(events, Event{Kind: EventTextDelta, Text: b.Text})
			}
		case "tool_use":
			events = append(events, Event{Kind: EventToolCallStart, ToolIndex: tools, ToolID: b.ID, ToolName: b.Name})
			// A call without arguments streams no fragment; "{}" is what the message says for it.
			var args bytes.Buffer
			if json.Compact(&args, b.Input) == nil && args.String() != "{}" && args.String() != "null" && args.Len() > 0 {
				events = append(events, Event{Kind: EventToolArgsDelta, ToolIndex: tools, ArgsDelta: args.String()})
			}
			tools++
		}
	}
	stop := Event{Kind: EventStop, StopReason: anthropicStopReason(m.StopReason), RawStopReason: m.StopReason}
	if stop.StopReason == StopSequence {
		stop.StopSequence = m.StopSequence
	}
	return append(events, Event{Kind: EventUsage, Usage: u}, stop)
}

// replayStream hands out the events of an answer already received in full.
type replayStream struct {
	events    []Event
	cur       Event
	requestID string
}

// RequestID implements RequestIdentified.
func (s *replayStream) RequestID() string { return s.requestID }

// Next implements Stream.
func (s *replayStream) Next() bool {
	if len(s.events) == 0 {
		return false
	}
	s.cur, s.events = s.events[0], s.events[1:]
	return true
}

// Event implements Stream.
func (s *replayStream) Event() Event { return s.cur }

// Err implements Stream: the answer is complete.
func (s *replayStream) Err() error { return nil }

// Close implements Stream; the response was read and closed already.
func (s *replayStream) Close() error { return nil }
