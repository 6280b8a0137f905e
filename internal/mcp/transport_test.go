package mcp

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// headerLog records the value of one header on every request the pool sends.
type headerLog struct {
	mu     sync.Mutex
	values []string
}

func (l *headerLog) wrap(name string) func(http.RoundTripper) http.RoundTripper {
	return func(base http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			l.mu.Lock()
			l.values = append(l.values, r.Header.Get(name))
			l.mu.Unlock()
			return base.RoundTrip(r)
		})
	}
}

// TestHeadersOnEveryRequest: the server's headers go with every request of the session (the
// handshake, the event stream, the calls), over both HTTP transports.
func TestHeadersOnEveryRequest(t *testing.T) {
	for _, tr := range []string{TransportStreamableHTTP, TransportSSE} {
		t.Run(tr, func(t *testing.T) {
			log := &headerLog{}
			p := newTestPool(t, nil)
			p.wrapTransport = log.wrap("X-Api-Key")
			tg := startTarget(t, p, tr)
			tg.srv.Headers = map[string]string{"X-Api-Key": "k-123"}
			if _, err := p.Call(ctxT(t), uuid.New(), tg.srv, "echo", echoArgs); err != nil {
				t.Fatal(err)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			if len(log.values) < 3 {
				t.Fatalf("saw %d requests; want the handshake and the call", len(log.values))
			}
			for i, v := range log.values {
				if v != "k-123" {
					t.Errorf("request %d carried X-Api-Key %q; want the server's header", i, v)
				}
			}
		})
	}
}

// TestHeadersStayWithTheirOrigin: a redirect to another origin (allowed by the guard) does not
// carry the server's secret headers there.
func TestHeadersStayWithTheirOrigin(t *testing.T) {
	var leaked, reached atomic.Int64
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if r.Header.Get("X-Api-Key") != "" {
			leaked.Add(1)
		}
		http.Error(w, "no", http.StatusNotFound)
	}))
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip(err)
	}
	other.Listener = l
	other.Start()
	t.Cleanup(other.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/mcp", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	p := newTestPool(t, nil) // 127.0.0.0/8 allowed
	s := Server{ID: uuid.New(), Transport: TransportStreamableHTTP, URL: redirector.URL + "/mcp", Headers: map[string]string{"X-Api-Key": "k-123"}}
	_, err = p.Test(ctxT(t), uuid.New(), s)
	if err == nil {
		t.Fatal("Test through a redirect to a 404 succeeded")
	}
	if reached.Load() == 0 {
		t.Fatal("the redirect was not followed; the test proves nothing")
	}
	if leaked.Load() != 0 {
		t.Errorf("the server's header reached another origin %d times", leaked.Load())
	}
}

// TestStdioRefusedUnlessAllowed: without CCB_MCP_ALLOW_STDIO the pool starts no command.
func TestStdioRefusedUnlessAllowed(t *testing.T) {
	p := newTestPool(t, func(o *PoolOptions) { o.AllowStdio = false })
	tg := startTarget(t, p, TransportStdio)
	ctx, user := ctxT(t), uuid.New()
	_, err := p.Test(ctx, user, tg.srv)
	wantCode(t, err, apperr.Forbidden, CodeStdioNotAllowed)
	_, err = p.Call(ctx, user, tg.srv, "echo", json.RawMessage(`{"message":"x"}`))
	wantCode(t, err, apperr.Forbidden, CodeStdioNotAllowed)
	if n := tg.spawns.count(); n != 0 {
		t.Errorf("%d processes spawned; want none", n)
	}
}
