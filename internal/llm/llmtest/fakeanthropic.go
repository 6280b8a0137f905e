// Package llmtest provides test doubles for upstream model APIs: an httptest fake of the
// Anthropic Messages API that replays scripted responses and records what it received.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// SSEEvent is one server-sent event: written as "event: <Type>\ndata: <Data>\n\n".
type SSEEvent struct {
	Type string
	Data string // JSON
}

// Response is one scripted answer. With Events it is a stream (text/event-stream); otherwise
// Body is written as JSON.
type Response struct {
	Status int         // 200 when zero
	Header http.Header // extra response headers
	Body   any         // JSON body: []byte/json.RawMessage verbatim, anything else marshalled
	Events []SSEEvent
	// Delay is waited before each event, so a client can disconnect mid-stream.
	Delay time.Duration
	// HoldOpen keeps the stream open after the last event until the client goes away.
	HoldOpen bool
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Raw    []byte         // the body as sent
	Body   map[string]any // the body decoded
}

// FakeAnthropic is an httptest server speaking the Messages API from a queue of Responses.
type FakeAnthropic struct {
	// URL is the server's base URL (without /v1), for NewAnthropic's baseURL.
	URL string

	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	queue  []Response
	reqs   []Request
	closed chan struct{}
	once   sync.Once
	stop   chan struct{} // closed at cleanup, so held streams never block shutdown
}

// NewFakeAnthropic starts a fake that is shut down when the test ends.
func NewFakeAnthropic(t testing.TB) *FakeAnthropic {
	t.Helper()
	f := &FakeAnthropic{t: t, closed: make(chan struct{}), stop: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(func() {
		close(f.stop)
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

// Enqueue adds responses, served one per request in order.
func (f *FakeAnthropic) Enqueue(rs ...Response) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, rs...)
}

// Requests returns the requests received so far.
func (f *FakeAnthropic) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// LastRequest returns the most recent request; it fails the test when there was none.
func (f *FakeAnthropic) LastRequest() Request {
	f.t.Helper()
	reqs := f.Requests()
	if len(reqs) == 0 {
		f.t.Fatal("llmtest: no request received")
	}
	return reqs[len(reqs)-1]
}

// ClosedEarly is closed when a client disconnected before its stream was fully written.
func (f *FakeAnthropic) ClosedEarly() <-chan struct{} { return f.closed }

// Pending reports how many scripted responses have not been served.
func (f *FakeAnthropic) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queue)
}

func (f *FakeAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
	_ = json.Unmarshal(raw, &req.Body)

	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	n := len(f.reqs)
	f.mu.Unlock()

	// Requests the real API would refuse do not consume a scripted response.
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/messages":
		f.write(w, r, ErrorResponse(http.StatusNotFound, "not_found_error", "fake: no route "+r.URL.Path))
		return
	case !authenticated(r):
		f.write(w, r, ErrorResponse(http.StatusUnauthorized, "authentication_error", "fake: missing credentials"))
		return
	}
	f.mu.Lock()
	var resp Response
	ok := len(f.queue) > 0
	if ok {
		resp, f.queue = f.queue[0], f.queue[1:]
	}
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("llmtest: unexpected request %d to the fake Anthropic API (queue empty)", n)
		resp = ErrorResponse(http.StatusInternalServerError, "api_error", "fake: no scripted response")
	}
	// The real API names every answer with a request-id header; a script may set its own.
	w.Header().Set("Request-Id", RequestID(n))
	if resp.Events != nil && req.Body["stream"] != true {
		f.writeFolded(w, r, resp)
		return
	}
	f.write(w, r, resp)
}

// writeFolded answers a request that did not ask for a stream as the API does: after the time
// the scripted stream would take (or, held open, never), the whole answer at once (see Fold).
func (f *FakeAnthropic) writeFolded(w http.ResponseWriter, r *http.Request, resp Response) {
	if !f.wait(r, resp.Delay*time.Duration(len(resp.Events))) {
		return
	}
	if resp.HoldOpen { // an answer that never completes: nothing is sent until the client goes
		select {
		case <-r.Context().Done():
			f.closedEarly()
		case <-f.stop:
		}
		return
	}
	folded := Fold(resp.Events)
	resp.Events, resp.Body = nil, folded.Body
	if resp.Status == 0 || resp.Status == http.StatusOK {
		resp.Status = folded.Status
	}
	f.write(w, r, resp)
	if folded.Cut {
		// A stream cut short is a connection cut short: the client sees the body end early.
		panic(http.ErrAbortHandler)
	}
}

// RequestID is the request-id header the fake sends with its answer to the n-th request (1-based)
// unless the scripted response sets one.
func RequestID(n int) string { return fmt.Sprintf("req_fake_%06d", n) }

// authenticated accepts either header the real API does; any value and any anthropic-version.
func authenticated(r *http.Request) bool {
	if r.Header.Get("X-Api-Key") != "" {
		return true
	}
	auth := r.Header.Get("Authorization")
	return strings.HasPrefix(auth, "Bearer ") && len(auth) > len("Bearer ")
}

func (f *FakeAnthropic) write(w http.ResponseWriter, r *http.Request, resp Response) {
	for k, vs := range resp.Header {
		w.Header().Del(k)
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	if resp.Events == nil {
		body, err := jsonBody(resp.Body)
		if err != nil {
			f.t.Errorf("llmtest: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	for _, ev := range resp.Events {
		if !f.wait(r, resp.Delay) {
			return
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, ev.Data); err != nil {
			f.closedEarly()
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	if resp.HoldOpen {
		select {
		case <-r.Context().Done():
			f.closedEarly()
		case <-f.stop:
		}
	}
}

// wait sleeps d unless the client goes away first (then it records that and reports false).
func (f *FakeAnthropic) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		if r.Context().Err() != nil {
			f.closedEarly()
			return false
		}
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		f.closedEarly()
		return false
	case <-f.stop:
		return false
	}
}

func (f *FakeAnthropic) closedEarly() { f.once.Do(func() { close(f.closed) }) }

func jsonBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case nil:
		return []byte("{}"), nil
	case []byte:
		return b, nil
	case json.RawMessage:
		return b, nil
	case string:
		return []byte(b), nil
	default:
		return json.Marshal(b)
	}
}
