package chat

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// Generation is one running completion. Start has already seen its first upstream event, so
// failures before any byte reaches the client are returned by CreateChatCompletion as problems.
type Generation struct {
	svc       *Service
	caller    Caller
	req       Request
	model     catalog.Model
	sessionID *uuid.UUID
	stream    llm.Stream
	pending   *llm.Event
	ans       *answer // the current step's answer
	// settle settles the token budget (settle.go); end releases the rest: the session's run
	// mark, the turn's deadline, the stream count. stop does both, once the upstream is closed.
	settle   func()
	end      func()
	started  time.Time
	ttft     time.Duration
	ID       string
	Created  int64
	err      error
	finished bool
	reserved int // token budget reserved by CreateChatCompletion, settled when the generation ends
	// TokenLimit is the token budget's state after the reservation (nil without a token limit).
	TokenLimit *ratelimit.Result

	// The tool loop (see loop.go); tools is nil when no backend tool takes part.
	tools       *toolTable
	loop        ToolLoop
	ctx         context.Context // bounds later steps and tool calls (cancel, turn deadline)
	parent      context.Context // ctx without the turn deadline
	lr          llm.Request     // the upstream request, grown by each step
	steps       int             // upstream requests sent
	done        []step          // finished steps
	current     []toolOutcome   // the current step's executed backend calls
	total       llm.Usage       // usage of the finished steps
	cost        Cost            // price of the finished steps
	hidden      map[int]bool    // the step's backend tool calls, by upstream index
	clientIndex map[int]int     // the step's client tool calls: upstream index → the client's
	todo        []toolCallPlan  // backend calls to announce and run
	held        *Event          // a mixed step's stop, returned once its backend calls ran
	another     bool            // start another step once todo is done
	limited     bool            // the step limit or the turn deadline ended the turn
	over        bool            // nothing more comes
	recording   sync.WaitGroup  // tool calls being recorded
	feed        feedQueue       // this generation's events on the caller's feed, in order (feed.go)

	// sessionTitle is the session's title as the exchange was stored (nil: nothing stored; it
	// points at nil for an untitled session), for the end event.
	sessionTitle **string
}

// tokensUsed is what the generation cost the token budget so far.
func (g *Generation) tokensUsed() int64 {
	u, _ := g.summed()
	return u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens + u.OutputTokens
}

// CreateChatCompletion (operation createChatCompletion) validates req, reserves tokens, takes a
// generation slot, marks the session as generating and opens the upstream stream, bound to ctx
// (the client's request) — a disconnect or a cancel request stops it. The caller streams the
// Generation or collects it.
func (s *Service) CreateChatCompletion(ctx context.Context, caller Caller, req Request) (*Generation, error) {
	p, err := s.prepare(ctx, caller, &req)
	if err != nil {
		return nil, err
	}
	model, lr, sessionID := p.model, p.lr, p.sessionID
	adm, err := s.admit(ctx, caller, req, lr)
	if err != nil {
		return nil, err
	}
	g := &Generation{svc: s, caller: caller, req: req, model: model, sessionID: sessionID, started: s.now(),
		ID: "chatcmpl-" + uuid.NewString(), Created: s.now().Unix(), reserved: adm.reserved, TokenLimit: adm.tokens,
		ans: &answer{}, tools: p.tools, loop: s.loop, lr: lr, steps: 1}
	// Settled off the response path (settle.go): the reply does not wait for Redis.
	g.settle = func() {
		s.settler.settle(settlement{user: caller.UserID, reserved: g.reserved, used: int(g.tokensUsed()), lease: adm.lease})
	}
	g.end = func() {}
	if sessionID != nil {
		runCtx, end, err := s.runs.Begin(ctx, *sessionID)
		if err != nil {
			g.settle()
			return nil, err
		}
		ctx, g.end = runCtx, end
	}
	g.parent, g.ctx = ctx, ctx
	if g.tools != nil {
		g.hidden, g.clientIndex = map[int]bool{}, map[int]int{}
		if s.loop.TurnTimeout > 0 {
			var cancel context.CancelFunc
			g.ctx, cancel = context.WithTimeout(ctx, s.loop.TurnTimeout)
			release := g.end
			ctx, g.end = g.ctx, func() { cancel(); release() }
		}
	}
	stream, err := s.upstream.Stream(ctx, lr)
	if err != nil {
		g.stop()
		s.observeFailure(g, err)
		return nil, upstreamError(err)
	}
	g.stream = stream
	if !stream.Next() {
		err := stream.Err()
		_ = stream.Close()
		g.stop()
		if err == nil {
			err = errors.New("the upstream stream ended without an event")
		}
		s.observeFailure(g, err)
		return nil, upstreamError(err)
	}
	e := stream.Event()
	g.pending = &e
	g.ttft = s.now().Sub(g.started)
	if req.Stream {
		s.streams.Add(1)
		ended := g.end
		g.end = func() { s.streams.Add(-1); ended() }
	}
	g.raise(events.GenerationStarted, startedData{feedRef: g.ref(), Model: g.model.ID})
	return g, nil
}

// Next returns the next event (an upstream one, or a backend tool's); false at the end (see
// Err). Backend tool calls run inside Next, on the caller's goroutine, between the steps.
func (g *Generation) Next() (Event, bool) {
	for {
		switch {
		case len(g.todo) > 0:
			return g.advance(), true
		case g.held != nil:
			e := *g.held
			g.held, g.over = nil, true
			return e, true
		case g.over:
			return Event{}, false
		case g.another:
			g.another = false
			if e, ok := g.nextStep(); !ok || e.Kind == llm.EventStop {
				return e, ok
			}
			continue
		}
		e, ok := g.upstreamNext()
		if !ok {
			return Event{}, false
		}
		if out, show := g.filter(e); show {
			g.raiseEvent(out)
			return out, true
		}
	}
}

// upstreamNext reads the current step's next upstream event into its answer.
func (g *Generation) upstreamNext() (llm.Event, bool) {
	var e llm.Event
	switch {
	case g.pending != nil:
		e, g.pending = *g.pending, nil
	case g.stream.Next():
		e = g.stream.Event()
	default:
		g.err, g.over = g.stream.Err(), true
		return e, false
	}
	g.ans.add(e)
	return e, true
}

// Err is why the stream ended early (nil after a normal stop).
func (g *Generation) Err() error { return g.err }

// Model is the catalog id the client asked for.
func (g *Generation) Model() string { return g.model.ID }

// Usage and cost so far, summed over the steps of the turn.
func (g *Generation) Usage() (Usage, Cost) {
	u, c := g.summed()
	return openAIUsage(u), c
}

// SessionID is the session the exchange is stored in, if any.
func (g *Generation) SessionID() *uuid.UUID { return g.sessionID }

// FinishReason is OpenAI's finish_reason for the stop seen (logged when it has no exact match).
// A turn the tool loop's limits ended is "length": cut short, as by max_tokens.
func (g *Generation) FinishReason() string {
	if g.limited {
		return "length"
	}
	reason, noted := finishReason(g.ans.stop)
	if noted {
		g.svc.log.Warn("upstream stop reason without an exact OpenAI equivalent",
			slog.String("stop_reason", string(g.ans.stop)), slog.String("raw", g.ans.rawStop), slog.String("finish_reason", reason))
	}
	return reason
}

// Collect runs the generation to its end and returns the chat.completion.
func (g *Generation) Collect(ctx context.Context) (Completion, error) {
	for {
		if _, ok := g.Next(); !ok {
			break
		}
	}
	stored := g.FinishStored(ctx)
	if g.err != nil {
		return Completion{}, upstreamError(g.err)
	}
	usage, cost := g.Usage()
	c := Completion{ID: g.ID, Object: "chat.completion", Created: g.Created, Model: g.model.ID,
		Choices: []Choice{{Index: 0, Message: g.message(), FinishReason: g.FinishReason(), Logprobs: json.RawMessage("null")}},
		Usage:   usage, Cost: &cost, SessionError: SessionErrorOf(stored)}
	if g.sessionID != nil {
		id := g.sessionID.String()
		c.SessionID = &id
	}
	return c, nil
}

// FinishStored records the exchange (also when cancelled or failed part-way: what was produced
// and its usage count) and releases the session. The exchange is stored in its session before
// it returns, so a reply or a stream can still tell the client that storing failed (the
// completion's session_error; the stream's error before [DONE]); the usage event is queued for
// the service's writer and not waited for (see Service.FlushUsage). It returns why the exchange
// could not be stored in its session (nil when stored, or when there is no session). It is safe
// to call more than once; only the first call records.
func (g *Generation) FinishStored(ctx context.Context) error {
	if g.release() {
		return g.record(context.WithoutCancel(ctx))
	}
	return nil
}

// FinishInBackground finishes the generation without holding up the end of the response: the
// token budget is settled at once (a next request may need it back, and Service.admit waits
// only for settlements already queued); closing the upstream, ending the rest and recording
// the exchange (stored in its session, its end event raised, its usage event queued) happen on
// a goroutine the service waits for at shutdown. Closing the upstream after its last event reads
// its body to the end, so that its connection is kept: that read, and generation.completed's
// Redis round trip, held the response open after [DONE].
func (g *Generation) FinishInBackground(ctx context.Context) {
	if g.finished {
		return
	}
	g.finished = true
	g.settle()
	g.svc.pending.Add(1)
	go func() {
		defer g.svc.pending.Done()
		_ = g.stream.Close()
		g.end()
		_ = g.record(context.WithoutCancel(ctx)) // logged; nobody is left to tell
	}()
}

// release closes the upstream, ends the run mark and settles the token budget; it reports
// whether this call did it.
func (g *Generation) release() bool {
	if g.finished {
		return false
	}
	g.finished = true
	_ = g.stream.Close()
	g.stop()
	return true
}

// stop ends the generation and settles its token budget (after the upstream is closed).
func (g *Generation) stop() {
	g.end()
	g.settle()
}

// record stores the exchange in its session and queues the usage event. It returns the session
// store's failure (also logged).
func (g *Generation) record(ctx context.Context) error {
	if g.sessionID != nil {
		g.recording.Wait() // the tool-calls list is complete when the exchange is
	}
	status := "completed"
	switch {
	case errors.Is(g.err, context.Canceled):
		status = "cancelled"
	case g.err != nil:
		status = "failed"
	case !g.ans.stopped:
		status = "cancelled"
	}
	_, cost := g.Usage()
	g.observe(cost, status)
	event := g.usageEvent(cost, status)
	var stored error
	if g.sessionID != nil {
		if stored = g.persist(ctx, cost, status); stored != nil {
			g.svc.log.Error("storing a chat exchange failed", slog.String("session_id", g.sessionID.String()), slog.String("error", stored.Error()))
		}
	}
	g.raiseEnd(status)
	g.svc.usage.add(event) // the writer logs a loss
	return stored
}

// usageEvent is the exchange's usage event.
func (g *Generation) usageEvent(cost Cost, status string) db.InsertUsageEventsParams {
	u, _ := g.summed()
	provider := g.model.Provider
	if served, ok := llm.ServedBy(g.stream); ok {
		provider = served.Provider
	}
	p := db.InsertUsageEventsParams{UserID: g.caller.UserID, SessionID: g.sessionID, Model: g.model.ID, Provider: provider,
		InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CacheReadTokens: u.CacheReadTokens, CacheWriteTokens: u.CacheWriteTokens,
		Cost: cost.Total, Status: status, DurationMs: float64(g.svc.now().Sub(g.started).Microseconds()) / 1000, Now: g.svc.now()}
	if g.caller.APIKeyID != uuid.Nil {
		p.ApiKeyID = &g.caller.APIKeyID
	}
	if g.ans.stopped {
		r := string(g.ans.stop)
		p.StopReason = &r
	}
	ttft := float64(g.ttft.Microseconds()) / 1000
	p.TtftMs = &ttft
	return p
}
