DROP TABLE IF EXISTS tool_calls;
DROP TABLE IF EXISTS session_mcp_servers;
DROP TABLE IF EXISTS mcp_servers;
