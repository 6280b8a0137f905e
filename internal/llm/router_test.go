package llm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

func newRouter(c *clock, routes map[string][]llm.Target) *llm.Router {
	cfg := llm.RouterConfig{Routes: routes, Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, BreakerThreshold: 100}
	if c != nil {
		cfg.Now = c.Now
		cfg.BreakerThreshold, cfg.BreakerCooldown = 2, time.Minute
	}
	return llm.NewRouter(cfg)
}

func TestRouterRetryAndFallback(t *testing.T) {
	tests := []struct {
		name             string
		a                []outcome
		wantErr          error
		wantServed       string
		wantACalls       int
		wantBCalls       int
		wantAttemptCount int
	}{
		{"success first time", nil, nil, "a", 1, 0, 1},
		{"retry 529 then success", []outcome{{err: overloaded}, {err: overloaded}}, nil, "a", 3, 0, 3},
		{"retries exhausted fall back", []outcome{{err: overloaded}, {err: overloaded}, {err: overloaded}}, nil, "b", 3, 1, 4},
		{"400 returned at once", []outcome{{err: badRequest}}, badRequest, "", 1, 0, 0},
		{"401 returned at once", []outcome{{err: unauth}}, unauth, "", 1, 0, 0},
		{"non-retryable 5xx falls back at once", []outcome{{err: notImpl}}, nil, "b", 1, 1, 2},
		{"failure before first event is retried", []outcome{{endErr: overloaded}}, nil, "a", 2, 0, 2},
		{"stream with no event at all is retried", []outcome{{}}, nil, "a", 2, 0, 2},
		{"untyped error returned at once", []outcome{{err: errors.New("cannot translate")}}, nil, "", 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &fakeProvider{name: "a", plan: tt.a}
			b := &fakeProvider{name: "b"}
			r := newRouter(nil, map[string][]llm.Target{"pub": {{a, "a-model"}, {b, "b-model"}}})
			s, err := r.Stream(context.Background(), llm.Request{Model: "pub"})
			if tt.wantServed == "" {
				if err == nil {
					t.Fatal("no error")
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				served, ok := llm.ServedBy(s)
				if !ok || served.Provider != tt.wantServed || served.Model != tt.wantServed+"-model" || served.Attempts != tt.wantAttemptCount {
					t.Errorf("served = %+v", served)
				}
				evs, err := collect(t, s)
				if err != nil || text(evs) != "from "+tt.wantServed || evs[0].Kind != llm.EventStart {
					t.Errorf("events %+v, err %v", evs, err)
				}
			}
			if a.count() != tt.wantACalls || b.count() != tt.wantBCalls {
				t.Errorf("calls a=%d b=%d, want %d %d", a.count(), b.count(), tt.wantACalls, tt.wantBCalls)
			}
		})
	}
}

func TestRouterNoRetryAfterFirstEvent(t *testing.T) {
	a := &fakeProvider{name: "a", plan: []outcome{{events: okEvents("a")[:2], endErr: overloaded}}}
	b := &fakeProvider{name: "b"}
	r := newRouter(nil, map[string][]llm.Target{"pub": {{a, ""}, {b, ""}}})
	s, err := r.Open(context.Background(), llm.Request{Model: "pub"})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if !errors.Is(err, overloaded) || text(evs) != "from a" {
		t.Errorf("events %+v, err %v", evs, err)
	}
	if a.count() != 1 || b.count() != 0 || s.Served().Model != "pub" {
		t.Errorf("calls a=%d b=%d served %+v", a.count(), b.count(), s.Served())
	}
}

func TestRouterCircuitBreaker(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	a := &fakeProvider{name: "a", plan: []outcome{{err: overloaded}, {err: overloaded}, {err: overloaded}}}
	b := &fakeProvider{name: "b"}
	r := newRouter(c, map[string][]llm.Target{"pub": {{a, ""}, {b, ""}}})
	served := func() string {
		t.Helper()
		s, err := r.Open(context.Background(), llm.Request{Model: "pub"})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return s.Served().Provider
	}

	// Two consecutive failures open a's breaker; the third attempt skips a.
	if got := served(); got != "b" || a.count() != 2 || r.BreakerState(a) != llm.BreakerOpen {
		t.Fatalf("served %s, a calls %d, state %s", got, a.count(), r.BreakerState(a))
	}
	if got := served(); got != "b" || a.count() != 2 {
		t.Fatalf("open breaker not skipped: served %s, a calls %d", got, a.count())
	}
	// After the cooldown one probe goes through; it fails and the breaker reopens.
	c.Add(time.Minute)
	if r.BreakerState(a) != llm.BreakerHalfOpen {
		t.Fatalf("state after cooldown = %s", r.BreakerState(a))
	}
	if got := served(); got != "b" || a.count() != 3 || r.BreakerState(a) != llm.BreakerOpen {
		t.Fatalf("failed probe: served %s, a calls %d, state %s", got, a.count(), r.BreakerState(a))
	}
	// The next probe succeeds and closes it.
	c.Add(time.Minute)
	if got := served(); got != "a" || r.BreakerState(a) != llm.BreakerClosed {
		t.Fatalf("successful probe: served %s, state %s", got, r.BreakerState(a))
	}
}

func TestRouterHalfOpenAdmitsOneProbe(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	a := &fakeProvider{name: "a", plan: []outcome{{err: overloaded}, {err: overloaded}}}
	b := &fakeProvider{name: "b"}
	r := newRouter(c, map[string][]llm.Target{"pub": {{a, ""}, {b, ""}}})
	if s, err := r.Open(context.Background(), llm.Request{Model: "pub"}); err != nil || s.Served().Provider != "b" {
		t.Fatalf("opening the breaker: %v", err)
	}
	c.Add(time.Minute)
	a.gate, a.entered = make(chan struct{}), make(chan struct{}, 1)
	probe := make(chan string)
	go func() {
		s, err := r.Open(context.Background(), llm.Request{Model: "pub"})
		if err != nil {
			probe <- err.Error()
			return
		}
		probe <- s.Served().Provider
	}()
	select { // the probe was admitted and is in flight
	case <-a.entered:
	case <-time.After(time.Second):
		t.Fatal("probe never reached the provider")
	}
	s, err := r.Open(context.Background(), llm.Request{Model: "pub"})
	if err != nil || s.Served().Provider != "b" {
		t.Errorf("concurrent request during the probe: served %+v, err %v", s, err)
	}
	close(a.gate)
	if got := <-probe; got != "a" {
		t.Errorf("probe served by %s", got)
	}
}

func TestRouterAllOpenAndUnknownModel(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	a := &fakeProvider{name: "a", plan: []outcome{{err: overloaded}, {err: overloaded}}}
	r := newRouter(c, map[string][]llm.Target{"pub": {{a, ""}}})
	if _, err := r.Open(context.Background(), llm.Request{Model: "pub"}); !errors.Is(err, overloaded) {
		t.Fatalf("err = %v", err)
	}
	_, err := r.Open(context.Background(), llm.Request{Model: "pub"})
	if e := llmErr(t, err); e.Status != 503 || !e.Retryable || e.Provider != "router" {
		t.Errorf("all open: %+v", e)
	}
	if _, err := r.Open(context.Background(), llm.Request{Model: "nope"}); !errors.Is(err, llm.ErrUnknownModel) {
		t.Errorf("unknown model: %v", err)
	}

	d := &fakeProvider{name: "d"}
	r = llm.NewRouter(llm.RouterConfig{Default: []llm.Target{{d, ""}}})
	s, err := r.Open(context.Background(), llm.Request{Model: "anything"})
	if err != nil || s.Served().Provider != "d" || s.Served().Model != "anything" {
		t.Errorf("default route: %v", err)
	}
	body, err := r.Describe(llm.Request{Model: "anything"})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, body, []byte(`{"provider":"d","model":"anything"}`))
}

func TestRouterBackoffAndCancellation(t *testing.T) {
	a := &fakeProvider{name: "a", plan: []outcome{{err: overloaded}, {err: overloaded}}}
	r := llm.NewRouter(llm.RouterConfig{
		Routes:   map[string][]llm.Target{"pub": {{a, ""}}},
		Attempts: 3, BaseDelay: 20 * time.Millisecond, MaxDelay: time.Second,
		Jitter: func() float64 { return 0.999 },
	})
	start := time.Now()
	if _, err := r.Open(context.Background(), llm.Request{Model: "pub"}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 55*time.Millisecond { // ≈20ms + ≈40ms
		t.Errorf("retries took %v, want exponential backoff ≥ 60ms", el)
	}

	a.plan = []outcome{{err: overloaded}}
	r = llm.NewRouter(llm.RouterConfig{Routes: map[string][]llm.Target{"pub": {{a, ""}}}, BaseDelay: time.Hour, MaxDelay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := r.Open(ctx, llm.Request{Model: "pub"})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
}

func TestRouterOverFakeAnthropic(t *testing.T) {
	p, fake := newAnthropic(t)
	fake.Enqueue(llmtest.Overloaded529(), llmtest.RateLimited429(), llmtest.TextStream("msg_ok", "claude-up", "fine"))
	r := newRouter(nil, map[string][]llm.Target{"claude": {{p, "claude-up"}}})
	s, err := r.Open(context.Background(), llm.Request{Model: "claude", Messages: []llm.Message{userText("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := collect(t, s)
	if err != nil || text(evs) != "fine" {
		t.Fatalf("events %+v err %v", evs, err)
	}
	if got := s.Served(); got.Provider != "anthropic" || got.Model != "claude-up" || got.Attempts != 3 {
		t.Errorf("served = %+v", got)
	}
	if n := len(fake.Requests()); n != 3 || fake.LastRequest().Body["model"] != "claude-up" {
		t.Errorf("%d requests, model %v", n, fake.LastRequest().Body["model"])
	}

	// An error after the first event is the caller's to see, not retried.
	fake.Enqueue(llmtest.ErrorMidStream("msg_e", "claude-up", "half"))
	s, err = r.Open(context.Background(), llm.Request{Model: "claude", Messages: []llm.Message{userText("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); !llmErr(t, err).Overloaded || len(fake.Requests()) != 4 {
		t.Errorf("mid-stream: err %v, %d requests", err, len(fake.Requests()))
	}
}
