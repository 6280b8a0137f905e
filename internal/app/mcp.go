package app

import (
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/mcp"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
)

// newMCP builds the registry of MCP servers (headers sealed under a key of their own) and the
// pool of client sessions to them.
func newMCP(cfg config.Config, st *store.Store, rdb redis.UniversalClient, cursors *page.Cursors, log *slog.Logger) (*mcp.Registry, *mcp.Pool, error) {
	box, err := secret.NewBox(cfg.SecretKey, mcp.HeadersPurpose)
	if err != nil {
		return nil, nil, err
	}
	c := cfg.MCP // a stdio server's process gets the pool's plain environment, never ours
	opts := mcp.PoolOptions{AllowStdio: c.AllowStdio, AllowedNetworks: c.AllowedNetworks, ToolsTTL: c.ToolsTTL, Idle: c.Idle,
		CallTimeout: c.CallTimeout, MaxSessionsPerUser: c.MaxSessionsPerUser, Redis: rdb, RedisPrefix: cfg.RedisPrefix, Logger: log}
	pool, err := mcp.NewPool(opts)
	if err != nil {
		return nil, nil, err
	}
	return mcp.NewRegistry(st, box, cursors, time.Now, opts.AllowStdio), pool, nil
}

// mcpToolLoop lets chat turns run MCP tools, bounded by the CCB_MCP_* loop settings.
func mcpToolLoop(cfg config.Config, reg *mcp.Registry, pool *mcp.Pool, log *slog.Logger) chat.ToolLoop {
	return chat.ToolLoop{Host: mcp.NewChatTools(reg, pool, log), MaxSteps: cfg.MCP.MaxSteps, TurnTimeout: cfg.MCP.TurnTimeout}
}
