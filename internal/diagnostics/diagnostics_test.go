package diagnostics_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/diagnostics"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// redisAt is a client of whatever listens at addr (nothing, or a proxy), closed when t ends.
func redisAt(t *testing.T, addr string) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func service(st *store.Store, rdb redis.UniversalClient) *diagnostics.Service {
	return diagnostics.New(diagnostics.Sources{Version: "test", Config: map[string]any{"env": "test"}, Store: st, Redis: rdb,
		Streams: func() int64 { return 3 }, Now: time.Now, Started: time.Now().Add(-time.Minute), Instance: uuid.New()})
}

func debugViews(t *testing.T, st *store.Store, actor uuid.UUID) int {
	t.Helper()
	var n int
	if err := st.Pool.QueryRow(context.Background(),
		"SELECT count(*) FROM audit_log WHERE action = 'admin.debug_view' AND outcome = 'success' AND actor_id = $1", actor).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The view is most needed when a dependency is down: a Redis that refuses connections shows as
// an error inside its part (without the address, which the error text would name), the rest of
// the view is filled and the audit entry is written.
func TestDebugInfoShowsADownRedisInsideItsPart(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	addr := closedPort(t)
	actor := uuid.New()
	info, err := service(st, redisAt(t, addr)).GetDebugInfo(context.Background(), actor)
	if err != nil {
		t.Fatalf("GetDebugInfo with Redis down: %v", err)
	}
	if info.Redis.Error != "the server did not answer: error" || info.Redis.Version != "" {
		t.Fatalf("Redis part %+v, want the error class only", info.Redis)
	}
	if strings.Contains(info.Redis.Error, addr) || strings.Contains(info.Redis.Error, "refused") {
		t.Fatalf("Redis error %q repeats the failure's text", info.Redis.Error)
	}
	if info.Postgres.Error != "" || info.Postgres.ServerVersion == "" || info.Migration.Version == 0 || info.Migration.Dirty {
		t.Fatalf("PostgreSQL part %+v, migration %+v: want the server's answers", info.Postgres, info.Migration)
	}
	if info.OpenStreams != 3 || info.MCPSessions != nil || info.WSConnections != nil || info.Build.Version != "test" {
		t.Fatalf("view %+v", info)
	}
	if n := debugViews(t, st, actor); n != 1 {
		t.Fatalf("%d audit entries for the view, want 1", n)
	}
}

// A Redis that accepts but does not answer holds the view at most askTimeout, and shows as a
// timeout.
func TestDebugInfoShowsAHungRedisAsATimeout(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	proxy := testutil.NewDelayProxy(t, redisTarget(t))
	proxy.SetDelay(time.Minute)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr, MaxRetries: -1, ReadTimeout: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	info, err := service(st, rdb).GetDebugInfo(context.Background(), uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	if info.Redis.Error != "the server did not answer: timeout" {
		t.Fatalf("Redis part %+v, want a timeout", info.Redis)
	}
}

// A live Redis answers INFO: version, memory and clients are read from it.
func TestDebugInfoReadsRedisINFO(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	rdb := testutil.NewRedis(t)
	info, err := service(st, rdb).GetDebugInfo(context.Background(), uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	if r := info.Redis; r.Error != "" || r.Version == "" || r.UsedMemoryBytes <= 0 || r.ConnectedClients < 1 {
		t.Fatalf("Redis part %+v", r)
	}
}

// A database golang-migrate has not (yet) recorded shows version 0, not an error; a view
// that cannot be audited is not shown.
func TestDebugInfoMigrationTableEmptyAndAuditFailure(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	if _, err := st.Pool.Exec(ctx, "DELETE FROM schema_migrations"); err != nil {
		t.Fatal(err)
	}
	svc := service(st, testutil.NewRedis(t))
	info, err := svc.GetDebugInfo(ctx, uuid.New())
	if err != nil || info.Migration != (diagnostics.Migration{}) {
		t.Fatalf("migration %+v, %v: want version 0 without error", info.Migration, err)
	}
	if _, err := st.Pool.Exec(ctx, "ALTER TABLE audit_log ADD CONSTRAINT no_debug_views CHECK (action <> 'admin.debug_view') NOT VALID"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetDebugInfo(ctx, uuid.New()); err == nil {
		t.Fatal("the view was shown although its audit entry could not be written")
	}
}

// A request already cancelled fails the view: the migration version cannot be read.
func TestDebugInfoCancelled(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := service(st, testutil.NewRedis(t)).GetDebugInfo(ctx, uuid.New()); err == nil {
		t.Fatal("GetDebugInfo with a cancelled context succeeded")
	}
}

func redisTarget(t *testing.T) string {
	t.Helper()
	opts, err := redis.ParseURL(testutil.BaseConfig(t).RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	return opts.Addr
}
