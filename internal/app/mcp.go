package app

import (
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/mcp"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// newMCP builds the registry of MCP servers (headers sealed under a key of their own) and the
// pool of client sessions to them.
func newMCP(cfg config.Config, st *store.Store, rdb *redis.Client, cursors *page.Cursors, log *slog.Logger) (*mcp.Registry, *mcp.Pool, error) {
	box, err := secret.NewBox(cfg.SecretKey, mcp.HeadersPurpose)
	if err != nil {
		return nil, nil, err
	}
	opts := mcpPoolOptions(cfg)
	opts.Redis, opts.RedisPrefix, opts.Logger = rdb, cfg.RedisPrefix, log
	pool, err := mcp.NewPool(opts)
	if err != nil {
		return nil, nil, err
	}
	return mcp.NewRegistry(st, box, cursors, time.Now, opts.AllowStdio), pool, nil
}
