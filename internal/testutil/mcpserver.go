package testutil

import (
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

// MCPServer is a real server-everything serving one HTTP transport (see testenv.MCPServer).
type MCPServer = testenv.MCPServer

// StartMCPServer starts server-everything for transport ("streamable_http" or "sse") and kills it
// when t ends.
func StartMCPServer(t testing.TB, transport string) *MCPServer {
	t.Helper()
	return testenv.StartMCPServer(t, transport)
}

// MCPStdioCommand is the command, arguments and plain environment of server-everything over stdio.
func MCPStdioCommand(t testing.TB) (command string, args []string, env []string) {
	return testenv.MCPStdioCommand(t)
}
