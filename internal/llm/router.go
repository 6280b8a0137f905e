package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Target is one place a model can be served from.
type Target struct {
	Provider Provider
	// UpstreamModel is the model id sent to the provider; empty keeps the request's.
	UpstreamModel string
}

// RouterConfig configures a Router. Zero durations and counts take the defaults noted.
type RouterConfig struct {
	// Routes maps a public model id to its targets, tried in order.
	Routes map[string][]Target
	// Default serves models without a route; when empty such models are ErrUnknownModel.
	Default []Target

	Attempts  int           // attempts per target, the first included (default 3)
	BaseDelay time.Duration // delay before the first retry, doubled for each next (default 250ms)
	MaxDelay  time.Duration // cap on a retry delay (default 4s)

	// BreakerThreshold consecutive upstream failures open a provider's breaker (default 5;
	// negative disables breakers); it stays open for BreakerCooldown (default 30s), then lets
	// one probe through.
	BreakerThreshold int
	BreakerCooldown  time.Duration

	Now    func() time.Time // default time.Now
	Jitter func() float64   // uniform in [0,1); default math/rand

	// OnError is told about every failed upstream attempt and every stream that fails part-way
	// (provider name, ErrorType), for metrics; cancellations by the caller are not failures.
	// Nil ignores them.
	OnError func(provider, errorType string)
}

// Router is a Provider that serves each model from an ordered list of targets: it retries
// transient failures with exponential backoff and jitter, falls back to the next target, and
// skips providers whose circuit breaker is open.
//
// Retries happen only before the caller has seen anything: Stream returns once the first event
// arrived. After that, a failure surfaces as the returned stream's Err.
type Router struct {
	cfg      RouterConfig
	mu       sync.Mutex
	breakers map[Provider]*breaker
}

var _ Provider = (*Router)(nil)

// NewRouter returns a router; see RouterConfig for the defaults.
func NewRouter(cfg RouterConfig) *Router {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = 250 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 4 * time.Second
	}
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = 5
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.OnError == nil {
		cfg.OnError = func(string, string) {}
	}
	return &Router{cfg: cfg, breakers: map[Provider]*breaker{}}
}

// Name implements Provider.
func (r *Router) Name() string { return "router" }

// Targets returns the targets serving model, in order.
func (r *Router) Targets(model string) ([]Target, error) {
	if ts, ok := r.cfg.Routes[model]; ok && len(ts) > 0 {
		return ts, nil
	}
	if len(r.cfg.Default) > 0 {
		return r.cfg.Default, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownModel, model)
}

// Describe implements Provider with the body the first target would receive.
func (r *Router) Describe(req Request) (json.RawMessage, error) {
	ts, err := r.Targets(req.Model)
	if err != nil {
		return nil, err
	}
	return ts[0].Provider.Describe(forTarget(req, ts[0]))
}

// BreakerState reports the state of p's circuit breaker, for metrics and health pages.
func (r *Router) BreakerState(p Provider) BreakerState {
	return r.breaker(p).current(r.cfg.Now())
}

// Stream implements Provider; the stream is a *RoutedStream.
func (r *Router) Stream(ctx context.Context, req Request) (Stream, error) {
	s, err := r.Open(ctx, req)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Open is Stream with the concrete result, whose Served tells who answered.
func (r *Router) Open(ctx context.Context, req Request) (*RoutedStream, error) {
	targets, err := r.Targets(req.Model)
	if err != nil {
		return nil, err
	}
	var lastErr error
	attempts := 0
	for _, t := range targets {
		b := r.breaker(t.Provider)
	retries:
		for try := 0; try < r.cfg.Attempts; try++ {
			if try > 0 {
				if err := r.sleep(ctx, try); err != nil {
					return nil, contextError(r.Name(), err)
				}
			}
			if !b.allow(r.cfg.Now()) {
				break // open: the next target, if any, is our best chance
			}
			attempts++
			s, err := r.first(ctx, t, req)
			if err == nil {
				b.success()
				s.served.Attempts = attempts
				s.breaker, s.now, s.onError = b, r.cfg.Now, r.cfg.OnError
				return s, nil
			}
			lastErr = err
			r.reportError(t.Provider.Name(), err)
			if !isProviderFailure(err) {
				b.neutral()
			} else {
				b.failure(r.cfg.Now())
			}
			if ctx.Err() != nil {
				return nil, err
			}
			e, ok := asError(err)
			switch {
			case !ok:
				return nil, err // a request the provider could not even translate
			case e.Retryable:
				continue
			case e.Status >= 500:
				break retries // not worth repeating here, but another upstream may do
			default:
				return nil, err // 4xx: the request is at fault, nobody else will like it more
			}
		}
	}
	if lastErr == nil {
		r.cfg.OnError(r.Name(), ErrTypeUnavailable)
		return nil, &Error{Provider: r.Name(), Status: 503, Retryable: true,
			Message: fmt.Sprintf("no provider available for model %q (circuit breakers open)", req.Model)}
	}
	return nil, lastErr
}

// first opens a stream on t and waits for its first event, so that a failure up to that point
// can still be retried without the caller having seen anything.
func (r *Router) first(ctx context.Context, t Target, req Request) (*RoutedStream, error) {
	req = forTarget(req, t)
	s, err := t.Provider.Stream(ctx, req)
	if err != nil {
		return nil, err
	}
	if !s.Next() {
		err := s.Err()
		_ = s.Close()
		if err == nil {
			err = connError(t.Provider.Name(), "", "upstream stream ended without any event", nil)
		}
		return nil, err
	}
	served := Served{Provider: t.Provider.Name(), Model: req.Model}
	if id, ok := s.(RequestIdentified); ok {
		served.RequestID = id.RequestID()
	}
	return &RoutedStream{inner: s, cur: s.Event(), pending: true, served: served}, nil
}

// sleep waits the backoff before retry number try (1-based): BaseDelay·2^(try-1), capped,
// with "equal jitter" (half fixed, half random) so synchronized clients spread out.
func (r *Router) sleep(ctx context.Context, try int) error {
	d := r.cfg.BaseDelay << (try - 1)
	if d > r.cfg.MaxDelay || d <= 0 {
		d = r.cfg.MaxDelay
	}
	d = d/2 + time.Duration(r.cfg.Jitter()*float64(d/2))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// reportError passes a failed attempt to OnError unless the caller ended it.
func (r *Router) reportError(provider string, err error) {
	if t := ErrorType(err); t != ErrTypeCancelled {
		r.cfg.OnError(provider, t)
	}
}

func (r *Router) breaker(p Provider) *breaker {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.breakers[p]
	if !ok {
		b = newBreaker(r.cfg.BreakerThreshold, r.cfg.BreakerCooldown)
		r.breakers[p] = b
	}
	return b
}

func forTarget(req Request, t Target) Request {
	if t.UpstreamModel != "" {
		req.Model = t.UpstreamModel
	}
	return req
}

// Served says who answered a routed request.
type Served struct {
	Provider string // Provider.Name()
	Model    string // the model id sent upstream
	Attempts int    // upstream requests made, across retries and fallbacks
	// RequestID is the upstream's id of the request that answered (Anthropic's request-id
	// header), empty when the provider names none.
	RequestID string
}

// RequestIdentified is a Stream that knows the upstream's id of its request.
type RequestIdentified interface {
	RequestID() string
}

// RoutedStream is the Stream a Router returns.
type RoutedStream struct {
	inner   Stream
	cur     Event
	pending bool // cur is the first event, not yet handed out
	served  Served

	breaker *breaker
	now     func() time.Time
	onError func(provider, errorType string)
	ended   bool
}

// Served reports the provider and upstream model that served the stream.
func (s *RoutedStream) Served() Served { return s.served }

// ServedBy reports who served a stream returned by Router.Stream.
func ServedBy(s Stream) (Served, bool) {
	rs, ok := s.(*RoutedStream)
	if !ok {
		return Served{}, false
	}
	return rs.served, true
}

// Next implements Stream.
func (s *RoutedStream) Next() bool {
	if s.pending {
		s.pending = false
		return true
	}
	if s.inner.Next() {
		s.cur = s.inner.Event()
		return true
	}
	if !s.ended {
		s.ended = true
		// A failure mid-stream still tells about the provider's health.
		err := s.inner.Err()
		if isProviderFailure(err) && s.breaker != nil {
			s.breaker.failure(s.now())
		}
		if t := ErrorType(err); err != nil && t != ErrTypeCancelled && s.onError != nil {
			s.onError(s.served.Provider, t)
		}
	}
	return false
}

// Event implements Stream.
func (s *RoutedStream) Event() Event { return s.cur }

// Err implements Stream.
func (s *RoutedStream) Err() error { return s.inner.Err() }

// Close implements Stream.
func (s *RoutedStream) Close() error { return s.inner.Close() }
