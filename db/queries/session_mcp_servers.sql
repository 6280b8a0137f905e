-- name: ListSessionMCPServers :many
-- The stored selection, in the client's order.
SELECT server_id, tools FROM session_mcp_servers
WHERE session_id = @session_id AND user_id = @user_id
ORDER BY position;

-- name: ListUsableSessionMCPServers :many
-- The selection as a chat turn may use it: enabled servers the user still sees.
SELECT sms.server_id, sms.tools FROM session_mcp_servers sms
JOIN mcp_servers m ON m.id = sms.server_id
WHERE sms.session_id = @session_id AND sms.user_id = @user_id AND m.enabled
  AND (m.user_id = @user_id OR m.user_id IS NULL)
ORDER BY sms.position;

-- name: ClearSessionMCPServers :exec
DELETE FROM session_mcp_servers WHERE session_id = @session_id AND user_id = @user_id;

-- name: AddSessionMCPServer :exec
INSERT INTO session_mcp_servers (session_id, server_id, user_id, position, tools)
VALUES (@session_id, @server_id, @user_id, @position, @tools);
