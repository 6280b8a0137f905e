// Package testenv holds the test helpers that need nothing of the service itself: a private Redis
// key namespace and a real MCP server (server-everything) started per test. It imports no internal
// package but config, so the internal tests of any package (internal/mcp's among them) can use it
// without the import cycle that testutil (which builds the whole app) would make.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/ccbackend/ccbackend/internal/config"
)

// redisURL is the test run's REDIS_URL (or the standard local port).
func redisURL(t testing.TB) string {
	t.Helper()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return cfg.RedisURL
}

// randomSuffix names per-test key spaces.
func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
