package llm_test

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
)

// outcome scripts one call of a fakeProvider: an error from Stream, or a stream of events that
// may end with an error.
type outcome struct {
	err    error
	events []llm.Event
	endErr error
}

var (
	overloaded = &llm.Error{Provider: "p", Status: 529, Retryable: true, Overloaded: true, Message: "overloaded"}
	badRequest = &llm.Error{Provider: "p", Status: 400, Message: "bad"}
	unauth     = &llm.Error{Provider: "p", Status: 401, Message: "no"}
	notImpl    = &llm.Error{Provider: "p", Status: 501, Message: "not implemented"}
)

func okEvents(name string) []llm.Event {
	return []llm.Event{
		{Kind: llm.EventStart, MessageID: "m-" + name},
		{Kind: llm.EventTextDelta, Text: "from " + name},
		{Kind: llm.EventUsage, Usage: llm.Usage{InputTokens: 1, OutputTokens: 2}},
		{Kind: llm.EventStop, StopReason: llm.StopEndTurn},
	}
}

// fakeProvider plays scripted outcomes, then succeeds.
type fakeProvider struct {
	name    string
	gate    chan struct{} // when set, Stream signals entered, then waits for gate
	entered chan struct{}
	mu      sync.Mutex
	plan    []outcome
	calls   []string // models requested
}

func (p *fakeProvider) Name() string { return p.name }

func (p *fakeProvider) Describe(req llm.Request) (json.RawMessage, error) {
	return json.Marshal(map[string]string{"provider": p.name, "model": req.Model})
}

func (p *fakeProvider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	if p.gate != nil {
		p.entered <- struct{}{}
		<-p.gate
	}
	p.mu.Lock()
	p.calls = append(p.calls, req.Model)
	o := outcome{events: okEvents(p.name)}
	if len(p.plan) > 0 {
		o, p.plan = p.plan[0], p.plan[1:]
	}
	p.mu.Unlock()
	if o.err != nil {
		return nil, o.err
	}
	return &sliceStream{events: o.events, err: o.endErr}, nil
}

func (p *fakeProvider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

type sliceStream struct {
	events []llm.Event
	cur    llm.Event
	err    error
	done   bool
}

func (s *sliceStream) Next() bool {
	if len(s.events) == 0 {
		s.done = true
		return false
	}
	s.cur, s.events = s.events[0], s.events[1:]
	return true
}
func (s *sliceStream) Event() llm.Event { return s.cur }
func (s *sliceStream) Err() error {
	if s.done {
		return s.err
	}
	return nil
}
func (s *sliceStream) Close() error { return nil }

// clock is a settable time source for breaker cooldowns.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
