// Package testutil gives every test its own migrated PostgreSQL database, its own Redis key
// namespace and an in-process server whose every response is validated against the contract.
package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/ccbackend/ccbackend/internal/config"
)

// BaseConfig is the configuration the test run was started with (DATABASE_URL, REDIS_URL from
// `make test`, or the standard local ports).
func BaseConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	// Each test's files go to its own directory (TestMain-less packages have no other cleanup).
	cfg.Files.BlobURL = "file://" + t.TempDir()
	return cfg
}

// randomSuffix names per-test databases and key spaces.
func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
