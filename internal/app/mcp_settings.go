package app

import (
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/mcp"
)

// mcpPoolOptions maps the MCP settings onto the pool's options.
func mcpPoolOptions(cfg config.Config) mcp.PoolOptions {
	m := cfg.MCP
	return mcp.PoolOptions{AllowStdio: m.AllowStdio, AllowedNetworks: m.AllowedNetworks, ToolsTTL: m.ToolsTTL, Idle: m.Idle,
		CallTimeout: m.CallTimeout, MaxSessionsPerUser: m.MaxSessionsPerUser}
}
