package app

import (
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/mcp"
)

// mcpPoolOptions maps the CCB_MCP_* settings onto the pool's options (Redis and the logger are
// added by newMCP). A stdio server's process gets the pool's plain environment, never ours.
func mcpPoolOptions(cfg config.Config) mcp.PoolOptions {
	m := cfg.MCP
	return mcp.PoolOptions{AllowStdio: m.AllowStdio, AllowedNetworks: m.AllowedNetworks, ToolsTTL: m.ToolsTTL,
		Idle: m.Idle, CallTimeout: m.CallTimeout, MaxSessionsPerUser: m.MaxSessionsPerUser}
}
