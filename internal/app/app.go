// Package app is the composition root: it turns a Config into connected dependencies and the
// production HTTP handler. main and the test harness both build the service through it.
package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	apispec "github.com/ccbackend/ccbackend/api"
	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/diagnostics"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/files"
	"github.com/ccbackend/ccbackend/internal/httpapi"
	"github.com/ccbackend/ccbackend/internal/idempotency"
	"github.com/ccbackend/ccbackend/internal/mcp"
	"github.com/ccbackend/ccbackend/internal/metrics"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/push"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/resume"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// App is the running service's dependencies and handler.
type App struct {
	Config      config.Config
	Log         *slog.Logger
	Store       *store.Store
	Redis       redis.UniversalClient
	Registry    *prometheus.Registry
	Handler     http.Handler
	Keys        *auth.KeyRing
	Accounts    *auth.Accounts
	Workspace   *workspace.Service
	Idempotency *idempotency.Store
	Files       *files.Service

	Chat *chat.Service
	// Limiter decides request limits and the chat token budget; Close gives back what it holds.
	Limiter *ratelimit.Limiter
	// Recordings keeps streamed generations resumable; Close waits for the ends still being written.
	Recordings *resume.Store
	// UsageMaintainer keeps usage_events partitioned, within retention and rolled up.
	UsageMaintainer *analytics.Maintainer

	Events *events.Bus // the live event feed: Publish, AddObserver, Online
	// Push notifies users away from the app (an observer of Events); nil when APNs is not configured.
	Push *push.Notifier

	MCP     *mcp.Registry
	MCPPool *mcp.Pool

	direct         *store.Store // session-level work past the pooler; Store itself without one
	stopBackground context.CancelFunc
}

// NewLogger returns the JSON logger at the configured level.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // config already validated the level
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// New connects to PostgreSQL and Redis, applies migrations unless disabled, and builds the router.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, version string) (a *App, err error) {
	started := time.Now()
	if cfg.MigrateOnStart {
		if err := Migrate(cfg.Pooler.Direct(cfg.DatabaseURL)); err != nil {
			return nil, err
		}
	}
	st, err := openPrimary(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	rdb, err := store.OpenRedis(ctx, cfg.RedisURL, cfg.Redis)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = rdb.Close()
		}
	}()
	writes, err := attachReplica(ctx, cfg, st, rdb, log)
	if err != nil {
		return nil, err
	}
	direct, err := openDirect(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && direct != st {
			direct.Close()
		}
	}()
	var recorder httpapi.WriteRecorder
	if writes != nil {
		recorder = writes
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	meta, err := httpapi.NewMetaHandlers(version, time.Now, st, httpapi.PingFunc(func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	}), cfg.ReadyTimeout, apispec.YAML)
	if err != nil {
		return nil, err
	}
	keys, accounts, err := newAccounts(ctx, cfg, st, rdb, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			accounts.Close()
		}
	}()
	cursors := page.NewCursors(secret.DeriveKey(cfg.SecretKey, "list-cursors", 32)).WithByteBudget(cfg.MaxPageBytes)
	models, err := catalog.Load(cfg.ModelsFile, cfg.Env == "production")
	if err != nil {
		return nil, err
	}
	bus, realtime := newEvents(cfg, rdb, accounts, log)
	realtime.WithAudit(st, time.Now)
	defer func() {
		if err != nil {
			_ = bus.Close()
		}
	}()
	notifier, err := newNotifier(cfg.Push, st, bus, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			closePush(notifier)
		}
	}()
	ws := workspace.New(st, cursors, time.Now, cfg.MaxMessageBytes, cfg.SyncRetention).WithEvents(bus, log)
	idemBox, err := secret.NewBox(cfg.SecretKey, idempotency.ResponsesPurpose)
	if err != nil {
		return nil, err
	}
	idem := idempotency.New(st, idemBox, log)
	genAI := metrics.NewGenAI(reg, modelIDs(models))
	reg.MustRegister(metrics.NewPools(st.Pool, rdb, cfg.ReadyTimeout), metrics.NewPartitions(st.Pool, time.Now, cfg.ReadyTimeout))
	limits := rateLimits(cfg, rdb)
	if writes != nil {
		limits.RecentWrites = writes
	}
	limits.OnReject = genAI.Rejected
	// Background work owned by the app (cancellation listener) ends with Close.
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			stopBackground()
		}
	}()
	registry, pool, err := newMCP(cfg, st, rdb, cursors, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = pool.Close()
		}
	}()
	fileService, err := newFiles(ctx, cfg, st, cursors, log)
	if err != nil {
		return nil, err
	}
	fileService.WithEvents(bus)
	chatService, err := newChat(bg, cfg, models, st, rdb, ws, fileService, limits.Limiter, mcpToolLoop(cfg, registry, pool, log), genAI, bus, log)
	if err != nil {
		return nil, err
	}
	metrics.StreamsActive(reg, chatService.ActiveStreams)
	passkeyService, passkeys, err := newPasskeys(cfg, accounts, rdb, cursors)
	if err != nil {
		return nil, err
	}
	recordings := newResume(bg, cfg, rdb, log)
	handler, err := httpapi.New(httpapi.Deps{
		Log:            log,
		Metrics:        httpapi.NewMetrics(reg),
		Authenticator:  accounts,
		CORSOrigins:    cfg.CORSOrigins,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		TrustedProxies: ipNets(cfg.TrustedProxies),
		RateLimits:     limits,
		Idempotency:    idem,
		DPoP:           accounts,
		PublicBaseURL:  cfg.DPoP.PublicBaseURL,
		Meta:           meta,
		Auth:           httpapi.NewAuthHandlers(accounts, keys, cursors).WithPasskeys(passkeyService),
		Admin:          httpapi.NewAdminHandlers(accounts, cursors),
		Workspace:      httpapi.NewWorkspaceHandlers(ws),
		Models:         httpapi.NewModelHandlers(models),
		Chat:           httpapi.NewChatHandlers(chatService, cfg.StreamKeepAlive).WithResume(recordings, log),
		Debug: httpapi.NewDebugHandlers(diagnostics.New(diagnostics.Sources{Version: version, Config: cfg.Redacted(),
			Store: st, Redis: rdb, Streams: chatService.ActiveStreams, MCPSessions: pool.Sessions, Now: time.Now, Started: started, Instance: uuid.New()})),
		MCP:      httpapi.NewMCPHandlers(registry, pool),
		Files:    httpapi.NewFileHandlers(fileService),
		Usage:    httpapi.NewUsageHandlers(analytics.New(st, cursors, time.Now)),
		Passkeys: passkeys,
		Realtime: realtime,
		Devices:  httpapi.NewDeviceHandlers(push.NewDevices(st, cursors, time.Now, cfg.Push.Topic)),
		Writes:   recorder,
	})
	if err != nil {
		return nil, err
	}
	return &App{Config: cfg, Log: log, Store: st, Redis: rdb, Registry: reg, Handler: handler, Keys: keys, Accounts: accounts, Workspace: ws, Idempotency: idem, Files: fileService, Chat: chatService, Limiter: limits.Limiter, Recordings: recordings, Events: bus, Push: notifier, MCP: registry, MCPPool: pool,
		UsageMaintainer: analytics.NewMaintainer(direct, time.Now, cfg.Analytics.UsageRetentionMonths, log), direct: direct, stopBackground: stopBackground}, nil
}

// Migrate applies every pending migration to databaseURL.
func Migrate(databaseURL string) error {
	m, err := store.NewMigrator(databaseURL)
	if err != nil {
		return err
	}
	return errors.Join(m.Up(), m.Close())
}

// Close stops background work and releases the connections, after the servers have stopped.
func (a *App) Close() {
	a.Chat.Wait()       // exchanges still being recorded
	a.Recordings.Wait() // the last events and ends of closed stream recordings
	a.Limiter.Close()   // units held ahead of need go back, after the last settlement
	closePush(a.Push)   // after the last generation's events, before the bus and the store go
	a.stopBackground()
	if err := a.Events.Close(); err != nil {
		a.Log.Warn("closing the event bus", slog.String("error", err.Error()))
	}
	a.Accounts.Close() // queued API key uses are written while the store is still open
	if err := a.MCPPool.Close(); err != nil {
		a.Log.Warn("closing the MCP pool", slog.String("error", err.Error()))
	}
	if err := a.Redis.Close(); err != nil {
		a.Log.Warn("closing redis", slog.String("error", err.Error()))
	}
	if err := a.Files.Close(); err != nil {
		a.Log.Warn("closing the blob store", slog.String("error", err.Error()))
	}
	if a.direct != a.Store {
		a.direct.Close()
	}
	a.Store.Close()
}
