package testutil

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

// NewRedisPrefix returns a key namespace private to t; its keys are deleted when t ends.
func NewRedisPrefix(t testing.TB) string { t.Helper(); return testenv.NewRedisPrefix(t) }

// NewRedis returns a client of the test Redis (one node, cluster or sentinel, as the run is
// configured), closed when t ends.
func NewRedis(t testing.TB) redis.UniversalClient { t.Helper(); return testenv.NewRedis(t) }
