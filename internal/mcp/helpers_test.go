package mcp

import (
	"context"
	"encoding/json"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// newTestPool is a pool on the test Redis (own prefix) that may reach loopback, with stdio on.
func newTestPool(t testing.TB, edit func(*PoolOptions)) *Pool {
	t.Helper()
	_, _, env := testutil.MCPStdioCommand(t)
	o := PoolOptions{
		Redis: testutil.NewRedis(t), RedisPrefix: testutil.NewRedisPrefix(t),
		AllowStdio: true, AllowedNetworks: loopback, StdioEnv: env, CallTimeout: 20 * time.Second,
	}
	if edit != nil {
		edit(&o)
	}
	p, err := NewPool(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// target is one server-everything reachable over one transport.
type target struct {
	srv    Server
	http   *testutil.MCPServer // nil for stdio
	spawns *spawnLog           // stdio children the pool started
}

// startTarget starts server-everything for transport (stdio: the pool spawns it) and returns the
// registry-shaped Server for it.
func startTarget(t *testing.T, p *Pool, transport string) *target {
	t.Helper()
	tg := &target{srv: Server{ID: uuid.New(), Name: "everything-" + transport, Version: time.Now(), Transport: transport}}
	if transport == TransportStdio {
		cmd, args, _ := testutil.MCPStdioCommand(t)
		tg.srv.Command, tg.srv.Args = cmd, args
		tg.spawns = &spawnLog{}
		p.onSpawn = tg.spawns.add
		return tg
	}
	tg.http = testutil.StartMCPServer(t, transport)
	tg.srv.URL = tg.http.URL
	return tg
}

// kill ends the server mid-session; restart brings it back (for stdio the pool spawns anew).
func (tg *target) killAndRestart(t *testing.T) {
	if tg.http != nil {
		tg.http.Restart()
		return
	}
	tg.spawns.killAll(t)
}

type spawnLog struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func (s *spawnLog) add(c *exec.Cmd) { s.mu.Lock(); s.cmds = append(s.cmds, c); s.mu.Unlock() }

func (s *spawnLog) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.cmds) }

func (s *spawnLog) killAll(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cmds {
		if c.Process != nil {
			_ = c.Process.Kill()
			_, _ = c.Process.Wait()
		}
	}
}

var transports = []string{TransportStreamableHTTP, TransportSSE, TransportStdio}

// eachTransport runs f as a subtest per transport, with a fresh pool (edited by edit) and a
// server-everything reachable over that transport.
func eachTransport(t *testing.T, edit func(*PoolOptions), f func(t *testing.T, p *Pool, tg *target)) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			p := newTestPool(t, edit)
			f(t, p, startTarget(t, p, tr))
		})
	}
}

// text is the concatenated text of a result's text blocks.
func text(t *testing.T, r Result) string {
	t.Helper()
	var b strings.Builder
	for _, c := range r.Content {
		var block struct{ Type, Text string }
		if err := json.Unmarshal(c, &block); err != nil {
			t.Fatalf("content block %s: %v", c, err)
		}
		b.WriteString(block.Text)
	}
	return b.String()
}

// wantCode fails unless err is an apperr with code.
func wantCode(t *testing.T, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Code != code || ae.Kind != kind {
		t.Fatalf("error = %v; want %s (kind %d)", err, code, kind)
	}
	return ae
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
