package mcp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

var echoArgs = json.RawMessage(`{"message":"x"}`)

// waitFor polls cond for up to 10 s (the reaper and background closes are asynchronous).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIdleSessionClosed: a session unused for CCB_MCP_IDLE is closed; the next call opens another.
func TestIdleSessionClosed(t *testing.T) {
	p := newTestPool(t, func(o *PoolOptions) { o.Idle = 300 * time.Millisecond })
	tg := startTarget(t, p, TransportStreamableHTTP)
	ctx, user := ctxT(t), uuid.New()
	if _, err := p.Call(ctx, user, tg.srv, "echo", echoArgs); err != nil {
		t.Fatal(err)
	}
	first := p.sessionID(user, tg.srv)
	if first == "" {
		t.Fatal("no pooled session after a call")
	}
	waitFor(t, "the idle session to close", func() bool { return p.Sessions() == 0 })
	if _, err := p.Call(ctx, user, tg.srv, "echo", echoArgs); err != nil {
		t.Fatal(err)
	}
	if again := p.sessionID(user, tg.srv); again == "" || again == first {
		t.Errorf("session after idle close = %q; want a new one (not %q)", again, first)
	}
}

// TestPerUserCap: a user holds at most CCB_MCP_MAX_SESSIONS_PER_USER sessions; the least recently
// used goes first, and other users are not affected. A changed server (new version) replaces its
// old session.
func TestPerUserCap(t *testing.T) {
	p := newTestPool(t, func(o *PoolOptions) { o.MaxSessionsPerUser = 2 })
	tg := startTarget(t, p, TransportStreamableHTTP)
	ctx, alice, bob := ctxT(t), uuid.New(), uuid.New()
	a, b, c := tg.srv, tg.srv, tg.srv
	a.ID, b.ID, c.ID = uuid.New(), uuid.New(), uuid.New()
	for _, s := range []Server{a, b, a, c} { // b is now the least recently used
		if _, err := p.Call(ctx, alice, s, "echo", echoArgs); err != nil {
			t.Fatal(err)
		}
	}
	if p.Sessions() != 2 || p.sessionID(alice, b) != "" || p.sessionID(alice, a) == "" || p.sessionID(alice, c) == "" {
		t.Fatalf("sessions %d, a %q b %q c %q; want a and c kept, b evicted", p.Sessions(),
			p.sessionID(alice, a), p.sessionID(alice, b), p.sessionID(alice, c))
	}
	if _, err := p.Call(ctx, bob, b, "echo", echoArgs); err != nil {
		t.Fatal(err)
	}
	if p.Sessions() != 3 {
		t.Errorf("Sessions() = %d after another user's call; want 3 (the cap is per user)", p.Sessions())
	}
	edited := a
	edited.Version = a.Version.Add(time.Second)
	if _, err := p.Call(ctx, alice, edited, "echo", echoArgs); err != nil {
		t.Fatal(err)
	}
	if p.Sessions() != 3 || p.sessionID(alice, a) != "" || p.sessionID(alice, edited) == "" {
		t.Errorf("after an edit: sessions %d, old %q new %q; want the old version's session replaced",
			p.Sessions(), p.sessionID(alice, a), p.sessionID(alice, edited))
	}
}

// TestToolsCacheSharedByInstances: a second pool on the same Redis (another instance) serves the
// list without connecting — the server is dead by then — while refresh goes live and rewrites it.
func TestToolsCacheSharedByInstances(t *testing.T) {
	prefix := testutil.NewRedisPrefix(t)
	shared := func(o *PoolOptions) { o.RedisPrefix = prefix; o.ToolsTTL = time.Minute }
	first, second := newTestPool(t, shared), newTestPool(t, shared)
	tg := startTarget(t, first, TransportStreamableHTTP)
	ctx, user := ctxT(t), uuid.New()
	live, err := first.Tools(ctx, user, tg.srv, false)
	if err != nil || len(live) < 3 {
		t.Fatalf("live list = %v, %v", live, err)
	}
	key := first.cache.key(tg.srv)
	if ttl := first.opts.Redis.TTL(ctx, key).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("cache key %s TTL %v; want within CCB_MCP_TOOLS_TTL", key, ttl)
	}

	tg.http.Kill()
	cached, err := second.Tools(ctx, uuid.New(), tg.srv, false)
	if err != nil || len(cached) != len(live) {
		t.Fatalf("second instance, server down: %d tools, %v; want the %d cached", len(cached), err, len(live))
	}
	if second.Sessions() != 0 {
		t.Errorf("second instance opened %d sessions for a cached list", second.Sessions())
	}
	allow := tg.srv
	allow.ToolAllowlist = []string{"get-sum"}
	if got, err := second.Tools(ctx, user, allow, false); err != nil || len(got) != 1 || got[0].Name != "get-sum" {
		t.Errorf("cached list with allowlist [get-sum] = %v, %v", got, err)
	}
	_, err = second.Tools(ctx, user, tg.srv, true)
	wantCode(t, err, apperr.BadGateway, CodeUnreachable)

	// refresh rewrites: plant a stale list, see it served, refresh, see the live one stay.
	tg.http.Restart()
	if err := first.opts.Redis.Set(ctx, key, `[{"name":"stale","input_schema":{}}]`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if got, _ := second.Tools(ctx, user, tg.srv, false); len(got) != 1 || got[0].Name != "stale" {
		t.Fatalf("planted list not served from cache: %v", got)
	}
	if got, err := second.Tools(ctx, user, tg.srv, true); err != nil || len(got) != len(live) {
		t.Fatalf("refresh = %d tools, %v; want %d live", len(got), err, len(live))
	}
	if got, _ := first.Tools(ctx, user, tg.srv, false); len(got) != len(live) {
		t.Errorf("after refresh the cache holds %d tools; want the %d live ones", len(got), len(live))
	}
}

// sessionID is the MCP session id of the pooled session of (user, s), "" when none.
func (p *Pool) sessionID(user uuid.UUID, s Server) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.sessions[poolKey{user: user, server: s.ID, version: s.Version.UnixNano()}]
	if e == nil || e.cs == nil {
		return ""
	}
	return e.cs.ID()
}
