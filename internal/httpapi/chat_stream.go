package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/resume"
)

// chatStream writes a generation as OpenAI chat.completion.chunk server-sent events. It is the
// text/event-stream response of createChatCompletion.
type chatStream struct {
	ctx          context.Context
	gen          *chat.Generation
	includeUsage bool
	keepAlive    time.Duration     // how often a comment line keeps idle proxies from closing a quiet stream
	genCtx       context.Context   // the generation's: ctx, or detached from it for a resumable stream
	rec          *resume.Recording // nil: not recorded (see chat_resume.go)
}

// VisitCreateChatCompletionResponse streams the events, flushing each one. The upstream is read
// on this goroutine, each event written as soon as it is decoded; keep-alive comments come from
// a timer meanwhile (see sseWriter).
func (s *chatStream) VisitCreateChatCompletionResponse(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.announce(h)
	w.WriteHeader(http.StatusOK)
	sse := newSSEWriter(s.ctx, w, s.keepAlive)
	sse.rec = s.rec
	defer sse.stop()
	defer s.gen.FinishInBackground(s.ctx)
	defer s.rec.Close()

	base := chat.Chunk{ID: s.gen.ID, Object: "chat.completion.chunk", Created: s.gen.Created, Model: s.gen.Model()}
	sse.data(s.first(chunkWith(base, chat.Delta{Role: "assistant", Content: new(string)}, nil)))
	for {
		e, ok := s.gen.Next()
		if !ok {
			return s.finish(sse, base)
		}
		s.write(sse, base, e)
	}
}

func (s *chatStream) write(sse *sseWriter, base chat.Chunk, e chat.Event) {
	if e.Tool != nil { // a backend tool call: an extension chunk without choices
		c := base
		c.Choices, c.Tool = []chat.ChunkChoice{}, e.Tool
		sse.data(c)
		return
	}
	switch e.Kind {
	case llm.EventTextDelta:
		text := e.Text
		sse.data(chunkWith(base, chat.Delta{Content: &text}, nil))
	case llm.EventToolCallStart:
		d := chat.ToolCallDelta{Index: e.ToolIndex, ID: e.ToolID, Type: "function"}
		d.Function.Name = e.ToolName
		sse.data(chunkWith(base, chat.Delta{ToolCalls: []chat.ToolCallDelta{d}}, nil))
	case llm.EventToolArgsDelta:
		d := chat.ToolCallDelta{Index: e.ToolIndex}
		d.Function.Arguments = e.ArgsDelta
		sse.data(chunkWith(base, chat.Delta{ToolCalls: []chat.ToolCallDelta{d}}, nil))
	case llm.EventStop:
		reason := s.gen.FinishReason()
		sse.data(chunkWith(base, chat.Delta{}, &reason))
	}
}

// finish closes the stream: an error event if the upstream failed part-way (its problem cannot
// be a status code any more), the usage chunk when asked, a chunk with session_error when the
// exchange could not be stored in its session, then [DONE].
func (s *chatStream) finish(sse *sseWriter, base chat.Chunk) error {
	if err := s.gen.Err(); err != nil && s.genCtx.Err() == nil {
		e := classify(chat.StreamError(err))
		sse.data(map[string]any{"error": map[string]any{"message": e.Detail, "type": openAIErrorType(kindStatus[e.Kind]), "code": e.Code}})
	}
	if s.includeUsage {
		usage, cost := s.gen.Usage()
		u := base
		u.Choices = []chat.ChunkChoice{}
		u.Usage, u.Cost = &usage, &cost
		sse.data(u)
	}
	// An exchange that belongs to a session is stored before [DONE], so that a failure to store
	// it reaches the client instead of only the log.
	if s.gen.SessionID() != nil {
		if stored := s.gen.FinishStored(s.ctx); stored != nil {
			e := base
			e.Choices = []chat.ChunkChoice{}
			e.SessionError = chat.SessionErrorOf(stored)
			sse.data(e)
		}
	}
	sse.last("data: [DONE]\n\n")
	return nil
}

func chunkWith(base chat.Chunk, d chat.Delta, finish *string) chat.Chunk {
	base.Choices = []chat.ChunkChoice{{Index: 0, Delta: d, FinishReason: finish, Logprobs: json.RawMessage("null")}}
	return base
}

// sseWriter writes events and flushes each; write errors (a gone client) are left to the
// request context, which stops the upstream. While the stream waits for the model, a timer
// writes a keep-alive comment every keepAlive so idle proxies do not close it; the mutex keeps
// its writes apart from the events'.
type sseWriter struct {
	mu        sync.Mutex
	ctx       context.Context // carries the connection's write deadline (ExtendWrite)
	w         http.ResponseWriter
	keepAlive *time.Timer
	stopped   bool
	rec       *resume.Recording // numbers and records each event (nil: neither)
	perWrite  time.Duration     // > 0: each write's own deadline (see bounded), instead of ExtendWrite's
	err       error             // the first failed write of a bounded writer
}

// bounded makes each write finish within d or fail (the event feed: a client that stops
// reading must not hold a write for the server's whole write timeout), and returns s.
func (s *sseWriter) bounded(d time.Duration) *sseWriter {
	s.perWrite = d
	return s
}

// failed returns the first write error of a bounded writer.
func (s *sseWriter) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func newSSEWriter(ctx context.Context, w http.ResponseWriter, every time.Duration) *sseWriter {
	s := &sseWriter{ctx: ctx, w: w}
	s.keepAlive = time.AfterFunc(every, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.stopped {
			s.write(": keep-alive\n\n")
			s.keepAlive.Reset(every)
		}
	})
	return s
}

// stop ends the keep-alives; the response writer is not to be touched after the handler.
func (s *sseWriter) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	s.keepAlive.Stop()
}

func (s *sseWriter) data(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	s.raw("data: " + string(b) + "\n\n")
}

// last writes the final event and ends the keep-alives under the same lock, so no comment can
// follow it (the handler's deferred work may still take a moment before stop).
func (s *sseWriter) last(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.write(s.rec.Numbered(text, true))
	s.stopped = true
	s.keepAlive.Stop()
}

func (s *sseWriter) raw(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.write(s.rec.Numbered(text, false))
}

// write extends the connection's write deadline first: a stream may run past the write timeout
// while its client reads, but a client that stops reading is cut off one timeout later.
func (s *sseWriter) write(text string) {
	if s.ctx.Err() != nil { // the client is gone; a resumable generation goes on without it
		return
	}
	if s.perWrite > 0 {
		if s.err != nil {
			return
		}
		rc := http.NewResponseController(s.w)
		_ = rc.SetWriteDeadline(time.Now().Add(s.perWrite))
		if _, err := s.w.Write([]byte(text)); err != nil {
			s.err = err
			return
		}
		s.err = rc.Flush()
		return
	}
	ExtendWrite(s.ctx)
	_, _ = s.w.Write([]byte(text))
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}
