package chat

import (
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
)

// Observer is told what the chat service does, for metrics. Its methods must be quick and must
// not block: they run on the request's goroutine.
type Observer interface {
	// GenerationEnded reports one generation, once, when it ends (also when it failed before
	// its first event).
	GenerationEnded(Outcome)
	// Rejected reports a request refused by one of the chat limits ("tokens", "generations").
	Rejected(policy string)
}

// Outcome is one generation as metrics see it: only bounded values (model ids from the catalog,
// provider names from the configuration), never a user or key.
type Outcome struct {
	Model      string    // catalog id
	Provider   string    // the provider that served it (the catalog's when none did)
	Usage      llm.Usage // tokens counted by the upstream
	Cost       float64   // USD
	StopReason string    // normalised (llm.StopReason); empty when the upstream did not stop
	Status     string    // completed | cancelled | failed
	ErrorType  string    // llm.ErrorType of the failure; empty when none
	Stream     bool      // answered as server-sent events
	Duration   time.Duration
	TTFT       time.Duration // until the first upstream event; 0 when none came
}

// nopObserver is the Observer of a service built without one.
type nopObserver struct{}

func (nopObserver) GenerationEnded(Outcome) {}
func (nopObserver) Rejected(string)         {}

// WithObserver makes o the service's observer and returns the service.
func (s *Service) WithObserver(o Observer) *Service {
	s.observer = o
	return s
}

// ActiveStreams is how many streamed generations this instance is serving now.
func (s *Service) ActiveStreams() int64 { return s.streams.Load() }

// observeFailure reports a generation that failed before its first event.
func (s *Service) observeFailure(g *Generation, err error) {
	s.observer.GenerationEnded(Outcome{Model: g.model.ID, Provider: g.model.Provider, Status: "failed",
		ErrorType: llm.ErrorType(err), Stream: g.req.Stream, Duration: s.now().Sub(g.started)})
}

// observe reports a generation that ran, when it is recorded.
func (g *Generation) observe(cost Cost, status string) {
	o := Outcome{Model: g.model.ID, Provider: g.model.Provider, Usage: g.ans.usage, Cost: cost.Total, Status: status,
		Stream: g.req.Stream, Duration: g.svc.now().Sub(g.started), TTFT: g.ttft}
	if served, ok := llm.ServedBy(g.stream); ok {
		o.Provider = served.Provider
	}
	if g.ans.stopped {
		o.StopReason = string(g.ans.stop)
	}
	if status == "failed" {
		o.ErrorType = llm.ErrorType(g.err)
	}
	g.svc.observer.GenerationEnded(o)
}

// UpstreamRequestID is the upstream's id of the request that serves the generation (empty when
// the provider names none), for the request log.
func (g *Generation) UpstreamRequestID() string {
	served, _ := llm.ServedBy(g.stream)
	return served.RequestID
}
