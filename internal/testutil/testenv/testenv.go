// Package testenv holds the test helpers that need nothing of the service itself: a private Redis
// key namespace, private Redis topologies (a cluster, a sentinel) and a real MCP server
// (server-everything) started per test. It imports no internal package but config and store, so
// the internal tests of any other package (internal/mcp's among them) can use it without the
// import cycle that testutil (which builds the whole app) would make.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/ccbackend/ccbackend/internal/config"
)

// testConfig is the test run's configuration: REDIS_URL (or the standard local port) and the
// Redis topology (CCB_REDIS_MODE, CCB_REDIS_ADDRS: make test-redis-cluster sets them).
func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return cfg
}

// randomSuffix names per-test key spaces.
func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
