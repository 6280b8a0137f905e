package app

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/store"
)

// openPrimary connects to DATABASE_URL, set up for the pooler in front of it (CCB_DATABASE_POOLER).
func openPrimary(ctx context.Context, cfg config.Config) (*store.Store, error) {
	return store.Open(ctx, store.ForPooler(cfg.DatabaseURL, cfg.Pooler.Kind))
}

// openDirect is the store for session-level work (the usage maintenance's advisory lock and
// DETACH … CONCURRENTLY): DATABASE_DIRECT_URL past the pooler when one is set, else st itself.
func openDirect(ctx context.Context, cfg config.Config, st *store.Store) (*store.Store, error) {
	if cfg.Pooler.DirectURL == "" {
		return st, nil
	}
	return store.Open(ctx, cfg.Pooler.DirectURL)
}

// attachReplica routes st's lag-tolerant reads through DATABASE_REPLICA_URL when it is set, and
// returns who records the writes that keep a user's reads on the primary (nil without replica).
func attachReplica(ctx context.Context, cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger) (*store.RedisRecentWrites, error) {
	if cfg.Replica.URL == "" {
		return nil, nil
	}
	writes := store.NewRedisRecentWrites(rdb, cfg.RedisPrefix, cfg.Replica.MaxLag+cfg.Replica.CheckEvery)
	router, err := store.OpenReplica(ctx, store.ForPooler(cfg.Replica.URL, cfg.Pooler.Kind), store.ReplicaOptions{
		MaxLag: cfg.Replica.MaxLag, CheckEvery: cfg.Replica.CheckEvery, Writes: writes, Log: log})
	if err != nil {
		return nil, err
	}
	st.UseReplica(router)
	return writes, nil
}
