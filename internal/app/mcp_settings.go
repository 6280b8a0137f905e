package app

import (
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/mcp"
)

// mcpPoolOptions maps the MCP settings onto the pool's options.
//
// TODO(mcp-core merge): internal/config/mcp.go (branch mcp-core) owns every CCB_MCP_* setting;
// until it is merged the pool runs on its defaults (stdio off, no allowed networks).
func mcpPoolOptions(config.Config) mcp.PoolOptions {
	return mcp.PoolOptions{}
}
