package diagnostics

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/store"
)

// askTimeout bounds each question to a dependency, so a hung one cannot hold the view.
const askTimeout = 2 * time.Second

// Postgres is the pool's statistics and the server's version.
type Postgres struct {
	ServerVersion                                                     string
	Error                                                             string // why the server could not be asked
	MaxConns, TotalConns, AcquiredConns, IdleConns, ConstructingConns int
	AcquireCount, EmptyAcquireCount, CanceledAcquireCount             int64
	AcquireWait                                                       time.Duration
}

func postgresInfo(ctx context.Context, st *store.Store) Postgres {
	s := st.Pool.Stat()
	p := Postgres{MaxConns: int(s.MaxConns()), TotalConns: int(s.TotalConns()), AcquiredConns: int(s.AcquiredConns()),
		IdleConns: int(s.IdleConns()), ConstructingConns: int(s.ConstructingConns()), AcquireCount: s.AcquireCount(),
		EmptyAcquireCount: s.EmptyAcquireCount(), CanceledAcquireCount: s.CanceledAcquireCount(), AcquireWait: s.AcquireDuration()}
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	if err := st.Pool.QueryRow(ctx, "SHOW server_version").Scan(&p.ServerVersion); err != nil {
		p.Error = "the server did not answer: " + errorClass(err)
	}
	return p
}

// Redis is the pool's statistics and what INFO says about the server.
type Redis struct {
	Version          string
	UsedMemoryBytes  int64
	ConnectedClients int
	Error            string
	MaxConns         int
	TotalConns       int
	IdleConns        int
	Hits, Misses     int64
	Timeouts         int64
}

func redisInfo(ctx context.Context, rdb redis.UniversalClient) Redis {
	s := rdb.PoolStats()
	r := Redis{MaxConns: store.RedisPoolSize(rdb), TotalConns: int(s.TotalConns), IdleConns: int(s.IdleConns),
		Hits: int64(s.Hits), Misses: int64(s.Misses), Timeouts: int64(s.Timeouts)}
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	text, err := rdb.Info(ctx, "server", "memory", "clients").Result()
	if err != nil {
		r.Error = "the server did not answer: " + errorClass(err)
		return r
	}
	fields := store.InfoFields(text)
	r.Version = fields["redis_version"]
	r.UsedMemoryBytes, _ = strconv.ParseInt(fields["used_memory"], 10, 64)
	r.ConnectedClients, _ = strconv.Atoi(fields["connected_clients"])
	return r
}

// errorClass says what kind of failure err is without its text, which may name hosts or users.
func errorClass(err error) string {
	var netErr net.Error
	switch {
	// go-redis turns the context's deadline into the connection's, so a hung server ends as a
	// network timeout ("i/o timeout"), not as the context's error.
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "error"
}

// Migration is the schema version golang-migrate recorded.
type Migration struct {
	Version int64
	Dirty   bool
}

// migration reads golang-migrate's own table (sqlc cannot see it: it is not in the migrations).
func migration(ctx context.Context, st *store.Store) (Migration, error) {
	var m Migration
	err := st.Pool.QueryRow(ctx, "SELECT version, dirty FROM schema_migrations LIMIT 1").Scan(&m.Version, &m.Dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return Migration{}, nil
	}
	return m, store.MapError(err)
}
