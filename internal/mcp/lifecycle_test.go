package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

var longRun = json.RawMessage(`{"duration":30,"steps":3}`)

// TestCallTimeout: a tool slower than CCB_MCP_CALL_TIMEOUT fails with mcp_timeout, and the pooled
// session stays usable.
func TestCallTimeout(t *testing.T) {
	eachTransport(t, func(o *PoolOptions) { o.CallTimeout = 2 * time.Second }, func(t *testing.T, p *Pool, tg *target) {
		ctx, user := ctxT(t), uuid.New()
		_, err := p.Call(ctx, user, tg.srv, "trigger-long-running-operation", longRun)
		wantCode(t, err, apperr.Timeout, CodeTimeout)
		if res, err := p.Call(ctx, user, tg.srv, "echo", json.RawMessage(`{"message":"after"}`)); err != nil || !strings.Contains(text(t, res), "after") {
			t.Fatalf("echo after a timeout = %+v, %v", res, err)
		}
	})
}

// requestLog records the JSON-RPC bodies the pool's HTTP clients send.
type requestLog struct {
	mu     sync.Mutex
	bodies []string
}

func (l *requestLog) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			_ = r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(b))
			l.mu.Lock()
			l.bodies = append(l.bodies, string(b))
			l.mu.Unlock()
		}
		return base.RoundTrip(r)
	})
}

func (l *requestLog) saw(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bodies {
		if strings.Contains(b, s) {
			return true
		}
	}
	return false
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCallCancel: cancelling the caller's context ends the in-flight call with ErrCancelled (long
// before the tool would finish) and the SDK tells the server with notifications/cancelled.
func TestCallCancel(t *testing.T) {
	eachTransport(t, nil, func(t *testing.T, p *Pool, tg *target) {
		log := &requestLog{}
		p.wrapTransport = log.wrap
		user := uuid.New()
		if _, err := p.Tools(ctxT(t), user, tg.srv, false); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(ctxT(t))
		done := make(chan error, 1)
		go func() {
			_, err := p.Call(ctx, user, tg.srv, "trigger-long-running-operation", longRun)
			done <- err
		}()
		time.Sleep(500 * time.Millisecond) // let the call reach the server
		cancel()
		if err := <-done; !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call = %v; want ErrCancelled", err)
		}
		if tg.srv.Transport != TransportStdio {
			deadline := time.Now().Add(5 * time.Second)
			for !log.saw("notifications/cancelled") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !log.saw("notifications/cancelled") {
				t.Error("the server was not sent notifications/cancelled")
			}
		}
	})
}

// TestServerRestartRebuildsSession: a server killed mid-session and started again forgets our
// session; the next call rebuilds it once and succeeds.
func TestServerRestartRebuildsSession(t *testing.T) {
	eachTransport(t, nil, func(t *testing.T, p *Pool, tg *target) {
		ctx, user := ctxT(t), uuid.New()
		if _, err := p.Call(ctx, user, tg.srv, "echo", json.RawMessage(`{"message":"before"}`)); err != nil {
			t.Fatal(err)
		}
		tg.killAndRestart(t)
		res, err := p.Call(ctx, user, tg.srv, "echo", json.RawMessage(`{"message":"after restart"}`))
		if err != nil || !strings.Contains(text(t, res), "after restart") {
			t.Fatalf("call after restart = %+v, %v; want the session rebuilt", res, err)
		}
		if p.Sessions() != 1 {
			t.Errorf("Sessions() = %d; want the one rebuilt session", p.Sessions())
		}
	})
}

// TestServerGoneSurfaces: with the server down for good, the rebuild fails and the error surfaces
// as mcp_unreachable.
func TestServerGoneSurfaces(t *testing.T) {
	p := newTestPool(t, nil)
	tg := startTarget(t, p, TransportStreamableHTTP)
	ctx, user := ctxT(t), uuid.New()
	if _, err := p.Call(ctx, user, tg.srv, "echo", json.RawMessage(`{"message":"x"}`)); err != nil {
		t.Fatal(err)
	}
	tg.http.Kill()
	_, err := p.Call(ctx, user, tg.srv, "echo", json.RawMessage(`{"message":"x"}`))
	wantCode(t, err, apperr.BadGateway, CodeUnreachable)
	if p.Sessions() != 0 {
		t.Errorf("Sessions() = %d; want the broken session dropped", p.Sessions())
	}
}
