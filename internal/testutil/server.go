package testutil

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/app"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

// Server is the production router running in-process on its own database and Redis namespace.
type Server struct {
	URL    string
	App    *app.App
	Client *ValidatingClient // every response it receives is checked against the contract
	API    *api.ClientWithResponses
	Logs   *LogRecorder // the ERROR lines the service logged
	Info   *LogRecorder // every line at INFO and above (the request log among them)
}

// Option adjusts the configuration of a test server.
type Option func(*config.Config)

// WithConfig lets a test change any setting before the server is built.
func WithConfig(f func(*config.Config)) Option { return Option(f) }

// NewServer starts the service for t on a fresh database and Redis namespace.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := BaseConfig(t)
	cfg.DatabaseURL = NewDatabase(t)
	cfg.RedisPrefix = NewRedisPrefix(t)
	return start(t, cfg, opts)
}

// start runs the app on cfg's database and namespace with the test defaults.
func start(t testing.TB, cfg config.Config, opts []Option) *Server {
	t.Helper()
	cfg.Env = "test"
	cfg.MigrateOnStart = false // the template is migrated already
	cfg.MetricsAddr = ""
	cfg.BcryptCost = 4 // the minimum: tests exercise the logic, not bcrypt's cost
	// Functional tests make many calls from one address; rate limiting has its own tests.
	cfg.RateLimitAuth = config.RatePolicy{Limit: 10000, Period: time.Minute}
	cfg.RateLimitDefault = config.RatePolicy{Limit: 100000, Period: time.Minute}
	cfg.RateLimitAuthFailures = config.RatePolicy{Limit: 10000, Period: time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	logs := &LogRecorder{}
	info := &LogRecorder{}
	log = slog.New(slog.NewMultiHandler(log.Handler(), slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}),
		slog.NewJSONHandler(info, &slog.HandlerOptions{Level: slog.LevelInfo})))
	a, err := app.New(context.Background(), cfg, log, "test")
	if err != nil {
		t.Fatalf("testutil: build app: %v", err)
	}
	testenv.GuardSlots(a.Redis)
	hs := httptest.NewServer(a.Handler)
	t.Cleanup(func() {
		hs.Close()
		a.Close()
	})
	vc := NewValidatingClient(t)
	client, err := api.NewClientWithResponses(hs.URL, api.WithHTTPClient(vc.HTTP))
	if err != nil {
		t.Fatalf("testutil: client: %v", err)
	}
	return &Server{URL: hs.URL, App: a, Client: vc, API: client, Logs: logs, Info: info}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// Config is config.Config, so tests adjust settings without importing the config package.
type Config = config.Config

// Twin starts a second instance of the service on the same database and Redis namespace, as a
// second replica behind a load balancer would run. opts apply to the twin only (give it the same
// settings as s where the test depends on them, e.g. a rate limit both must enforce).
func (s *Server) Twin(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := BaseConfig(t)
	cfg.DatabaseURL, cfg.RedisPrefix = s.App.Config.DatabaseURL, s.App.Config.RedisPrefix
	cfg.RedisURL, cfg.Redis = s.App.Config.RedisURL, s.App.Config.Redis // the same Redis, whatever its topology
	cfg.Files.BlobURL = s.App.Config.Files.BlobURL
	return start(t, cfg, opts)
}

// RatePolicy is config.RatePolicy.
type RatePolicy = config.RatePolicy
