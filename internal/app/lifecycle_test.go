package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/app"
	"github.com/ccbackend/ccbackend/internal/config"
	tu "github.com/ccbackend/ccbackend/internal/testutil"
)

func baseConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := tu.BaseConfig(t)
	cfg.DatabaseURL, cfg.RedisPrefix = tu.NewDatabase(t), tu.NewRedisPrefix(t)
	cfg.Env, cfg.MigrateOnStart, cfg.BcryptCost, cfg.ShutdownTimeout = "test", false, 4, time.Second
	return cfg
}

func quietLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// failureNames: what New's error says for the later failures (the operator must see which setting).
var failureNames = map[string]string{"push key file missing": "CCB_APNS_KEY_FILE", "push key not a key": "APNs key",
	"blob store is a file": "blob directory", "blob store scheme unknown": "blob URL scheme"}

// New fails, releasing what it opened, when a dependency is missing or misconfigured.
func TestNewFailures(t *testing.T) {
	for name, adjust := range map[string]func(*config.Config){
		"redis unreachable": func(c *config.Config) {
			c.RedisURL, c.Redis = "redis://"+deadAddr(t)+"/0", config.Redis{Mode: config.RedisSingle}
		},
		"database unreachable": func(c *config.Config) {
			c.DatabaseURL = "postgres://postgres@" + deadAddr(t) + "/x?sslmode=disable&connect_timeout=2"
		},
		"migration unreachable": func(c *config.Config) {
			c.MigrateOnStart, c.DatabaseURL = true, "postgres://postgres@"+deadAddr(t)+"/x?sslmode=disable&connect_timeout=2"
		},
		"models file missing": func(c *config.Config) { c.ModelsFile = t.TempDir() + "/models.yaml" },
		// Later steps: what New opened before them (event bus, push client, MCP pool, background
		// work) is released on the way out.
		"push key file missing": func(c *config.Config) { c.Push.KeyFile = t.TempDir() + "/AuthKey.p8" },
		"push key not a key": func(c *config.Config) {
			c.Push.KeyFile = t.TempDir() + "/AuthKey.p8"
			if err := os.WriteFile(c.Push.KeyFile, []byte("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"blob store is a file": func(c *config.Config) {
			f := t.TempDir() + "/blobs"
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			c.Files.BlobURL = "file://" + f + "/inside"
		},
		"blob store scheme unknown": func(c *config.Config) { c.Files.BlobURL = "gs://bucket" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := baseConfig(t)
			adjust(&cfg)
			a, err := app.New(context.Background(), cfg, quietLog(), "test")
			if err == nil {
				a.Close()
				t.Fatal("New succeeded")
			}
			if want, ok := failureNames[name]; ok && !strings.Contains(err.Error(), want) {
				t.Fatalf("New = %v, want an error naming %q", err, want)
			}
		})
	}
}

// A taken address fails Listen and leaves no listener open.
func TestListenFailures(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := baseConfig(t)
	a, err := app.New(context.Background(), cfg, quietLog(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	a.Config.Addr, a.Config.MetricsAddr = busy.Addr().String(), ""
	if _, err := a.Listen(); err == nil || !strings.Contains(err.Error(), "CCB_ADDR") {
		t.Errorf("Listen on a taken CCB_ADDR = %v", err)
	}
	free := deadAddr(t)
	a.Config.Addr, a.Config.MetricsAddr = free, busy.Addr().String()
	if _, err := a.Listen(); err == nil || !strings.Contains(err.Error(), "CCB_METRICS_ADDR") {
		t.Errorf("Listen on a taken CCB_METRICS_ADDR = %v", err)
	}
	// The public listener opened first was closed again: its address is free.
	l, err := net.Listen("tcp", free)
	if err != nil {
		t.Errorf("CCB_ADDR %s still held after the failed Listen: %v", free, err)
	} else {
		_ = l.Close()
	}
}

// Serve answers the metrics listener too, and a listener failing under it ends Serve with
// the error (the process exits non-zero instead of running without its API).
func TestServeMetricsAndListenerFailure(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Addr, cfg.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0"
	a, err := app.New(context.Background(), cfg, quietLog(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ls, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(context.Background(), ls) }()
	resp, err := http.Get("http://" + ls.Metrics.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("GET /metrics = %d\n%.200s", resp.StatusCode, body)
	}
	_ = ls.Public.Close() // the API's listener dies
	select {
	case err := <-done:
		if err == nil {
			t.Error("Serve returned nil after its listener failed")
		}
	case <-time.After(guard):
		t.Fatal("Serve kept running after its listener failed")
	}
}
