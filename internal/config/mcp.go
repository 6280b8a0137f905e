package config

import (
	"net/netip"
	"time"
)

// MCP holds the settings of MCP server connections and of the chat tool loop.
type MCP struct {
	// AllowStdio (CCB_MCP_ALLOW_STDIO, default false) lets admins register stdio servers: a
	// command run on the backend host.
	AllowStdio bool
	// AllowedNetworks (CCB_MCP_ALLOWED_NETWORKS, CIDRs) are ranges the SSRF guard lets through on
	// purpose (e.g. a sidecar on 10.0.0.0/8, or loopback in tests); any port.
	AllowedNetworks    []netip.Prefix
	ToolsTTL           time.Duration // CCB_MCP_TOOLS_TTL (5m): life of a cached tool list in Redis
	Idle               time.Duration // CCB_MCP_IDLE (5m): an unused pooled session is closed after it
	CallTimeout        time.Duration // CCB_MCP_CALL_TIMEOUT (30s): one tool call, connect included
	MaxSessionsPerUser int           // CCB_MCP_MAX_SESSIONS_PER_USER (8): pooled sessions per user per instance
	MaxSteps           int           // CCB_MCP_MAX_STEPS (8): model steps of one chat turn's tool loop
	TurnTimeout        time.Duration // CCB_MCP_TURN_TIMEOUT (5m): the whole tool loop of one chat turn
}

func (r *reader) mcp() MCP {
	return MCP{
		AllowStdio:         r.boolean("CCB_MCP_ALLOW_STDIO", false),
		AllowedNetworks:    r.prefixes("CCB_MCP_ALLOWED_NETWORKS"),
		ToolsTTL:           r.duration("CCB_MCP_TOOLS_TTL", 5*time.Minute),
		Idle:               r.duration("CCB_MCP_IDLE", 5*time.Minute),
		CallTimeout:        r.duration("CCB_MCP_CALL_TIMEOUT", 30*time.Second),
		MaxSessionsPerUser: r.intRange("CCB_MCP_MAX_SESSIONS_PER_USER", 8, 1, 10000),
		MaxSteps:           r.intRange("CCB_MCP_MAX_STEPS", 8, 1, 100),
		TurnTimeout:        r.duration("CCB_MCP_TURN_TIMEOUT", 5*time.Minute),
	}
}
