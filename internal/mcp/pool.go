package mcp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"os/exec"
	"sync"
	"time"

	"github.com/google/uuid"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"
)

// PoolOptions configure a Pool; zero durations and counts take the defaults of CCB_MCP_*.
type PoolOptions struct {
	Redis              redis.UniversalClient // shared tool-list cache; nil lists live every time
	RedisPrefix        string                // CCB_REDIS_PREFIX
	AllowStdio         bool                  // CCB_MCP_ALLOW_STDIO: who may register one is the registry's rule
	AllowedNetworks    []netip.Prefix        // CCB_MCP_ALLOWED_NETWORKS: ranges the SSRF guard lets through
	ToolsTTL           time.Duration         // CCB_MCP_TOOLS_TTL (5m)
	Idle               time.Duration         // CCB_MCP_IDLE (5m): an unused pooled session is closed after it
	CallTimeout        time.Duration         // CCB_MCP_CALL_TIMEOUT (30s): one call, connect included
	MaxSessionsPerUser int                   // CCB_MCP_MAX_SESSIONS_PER_USER (8): the least recently used is evicted
	// StdioEnv is the whole environment of a stdio server process (nil: a plain PATH). The
	// backend's own environment is never inherited.
	StdioEnv []string
	Logger   *slog.Logger
}

// Pool keeps MCP client sessions per (user, server, server version) on this instance. It is safe
// for concurrent use; concurrent first calls for one key share one connect.
type Pool struct {
	opts          PoolOptions
	log           *slog.Logger
	httpTransport *http.Transport
	cache         *toolCache
	schemas       *schemaCache

	mu       sync.Mutex
	sessions map[poolKey]*entry
	closed   bool
	stop     chan struct{}
	done     chan struct{}

	onSpawn       func(*exec.Cmd)                           // tests: see the stdio child to kill it
	wrapTransport func(http.RoundTripper) http.RoundTripper // tests: watch the requests sent
	now           func() time.Time
}

type poolKey struct {
	user, server uuid.UUID
	version      int64 // Server.Version in Unix nanoseconds
}

// entry is one pooled session; ready closes when the connect finished (cs or err set).
type entry struct {
	key      poolKey
	ready    chan struct{}
	cs       *sdk.ClientSession
	err      error
	inUse    int
	lastUsed time.Time
	cancel   context.CancelFunc // ends the session's context
}

// NewPool returns a pool and starts its idle reaper; Close stops it.
func NewPool(o PoolOptions) (*Pool, error) {
	if o.ToolsTTL <= 0 {
		o.ToolsTTL = 5 * time.Minute
	}
	if o.Idle <= 0 {
		o.Idle = 5 * time.Minute
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.MaxSessionsPerUser <= 0 {
		o.MaxSessionsPerUser = 8
	}
	if o.StdioEnv == nil {
		o.StdioEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{
		opts:     o,
		log:      o.Logger,
		cache:    &toolCache{rdb: o.Redis, prefix: o.RedisPrefix + "mcp:tools:", ttl: o.ToolsTTL, log: o.Logger},
		schemas:  newSchemaCache(),
		sessions: map[poolKey]*entry{},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		now:      time.Now,
	}
	// The response-header timeout is the call budget: a Streamable HTTP POST may hold its headers
	// until the tool answers.
	p.httpTransport = newHTTPTransport(newGuard(o.AllowedNetworks), o.CallTimeout)
	go p.reap()
	return p, nil
}

// Sessions reports the open pooled sessions on this instance.
func (p *Pool) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.sessions {
		if e.cs != nil {
			n++
		}
	}
	return n
}

// Close closes every pooled session and stops the reaper.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	all := make([]*entry, 0, len(p.sessions))
	for k, e := range p.sessions {
		all = append(all, e)
		delete(p.sessions, k)
	}
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	for _, e := range all {
		<-e.ready
		closeSession(e)
	}
	p.httpTransport.CloseIdleConnections()
	return nil
}

var errPoolClosed = errors.New("mcp: pool closed")

// acquire returns a ready session for (user, s), connecting at most once per key at a time. The
// caller must release it.
func (p *Pool) acquire(ctx context.Context, user uuid.UUID, s Server) (*entry, error) {
	k := poolKey{user: user, server: s.ID, version: s.Version.UnixNano()}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errPoolClosed
		}
		e, ok := p.sessions[k]
		if !ok {
			e = &entry{key: k, ready: make(chan struct{}), lastUsed: p.now()}
			e.inUse++
			p.sessions[k] = e
			stale := p.staleLocked(k)
			p.mu.Unlock()
			go closeAll(stale)
			p.connectEntry(ctx, s, e)
			if e.err != nil {
				return nil, e.err
			}
			return e, nil
		}
		e.inUse++
		p.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			p.release(e)
			return nil, mapError(ctx, ctx.Err())
		}
		if e.err == nil {
			return e, nil
		}
		// The connect we waited for failed; its error belongs to its caller's context (maybe a
		// cancelled one). Try our own connect.
		p.release(e)
	}
}

// connectEntry runs the connect of a new entry. The session's context is detached from the
// caller (other callers may be waiting on it, and the legacy SSE transport keeps its event stream
// on the context it connected with) and ends when the session is closed; only the handshake is
// bounded by the call timeout.
func (p *Pool) connectEntry(ctx context.Context, s Server, e *entry) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	timer := time.AfterFunc(p.opts.CallTimeout, cancel)
	cs, err := p.connect(sctx, s)
	if !timer.Stop() && err == nil { // the timer fired just as the handshake finished
		_ = cs.Close()
		cs, err = nil, timeoutError(context.DeadlineExceeded)
	}
	if err != nil {
		cancel()
		if errors.Is(err, ErrCancelled) { // our own timer, not the caller
			err = timeoutError(err)
		}
	}
	p.mu.Lock()
	e.cs, e.err, e.cancel = cs, err, cancel
	if err != nil {
		e.inUse--
		if p.sessions[e.key] == e {
			delete(p.sessions, e.key)
		}
	}
	evicted := p.evictLocked(e.key.user)
	p.mu.Unlock()
	close(e.ready)
	go closeAll(evicted)
}

// release marks one use of e done.
func (p *Pool) release(e *entry) {
	p.mu.Lock()
	e.inUse--
	e.lastUsed = p.now()
	p.mu.Unlock()
}

// discard drops e from the pool (its session broke) and closes it once nobody else uses it.
func (p *Pool) discard(e *entry) {
	p.mu.Lock()
	if p.sessions[e.key] == e {
		delete(p.sessions, e.key)
	}
	p.mu.Unlock()
	go closeSession(e)
}

// staleLocked removes the entries of older versions of k's server for k's user.
func (p *Pool) staleLocked(k poolKey) []*entry {
	var out []*entry
	for ok, e := range p.sessions {
		if ok.user == k.user && ok.server == k.server && ok.version != k.version && e.inUse == 0 {
			out = append(out, e)
			delete(p.sessions, ok)
		}
	}
	return out
}

// evictLocked removes the user's least recently used idle sessions above the cap. Sessions in
// use are never cut mid-call; the cap is restored when they are released and the next connect runs.
func (p *Pool) evictLocked(user uuid.UUID) []*entry {
	var out []*entry
	for {
		var lru *entry
		n := 0
		for k, e := range p.sessions {
			if k.user != user || e.cs == nil {
				continue
			}
			n++
			if e.inUse == 0 && (lru == nil || e.lastUsed.Before(lru.lastUsed)) {
				lru = e
			}
		}
		if n <= p.opts.MaxSessionsPerUser || lru == nil {
			return out
		}
		delete(p.sessions, lru.key)
		out = append(out, lru)
	}
}

// reap closes sessions idle longer than CCB_MCP_IDLE.
func (p *Pool) reap() {
	defer close(p.done)
	every := p.opts.Idle / 4
	if every > 30*time.Second {
		every = 30 * time.Second
	}
	t := time.NewTicker(max(every, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		now := p.now()
		var idle []*entry
		p.mu.Lock()
		for k, e := range p.sessions {
			if e.cs != nil && e.inUse == 0 && now.Sub(e.lastUsed) > p.opts.Idle {
				idle = append(idle, e)
				delete(p.sessions, k)
			}
		}
		p.mu.Unlock()
		closeAll(idle)
	}
}

func closeAll(es []*entry) {
	for _, e := range es {
		closeSession(e)
	}
}

// closeSession closes e's session; closing waits for the transport (a stdio child's exit, a
// DELETE to the server), so callers on a request's path run it in the background.
func closeSession(e *entry) {
	if e.cs != nil {
		_ = e.cs.Close()
	}
	if e.cancel != nil {
		e.cancel()
	}
}
