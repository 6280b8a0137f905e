-- name: InsertToolCall :execrows
-- Inserts only into a session of the user: zero rows means no such session (for them).
INSERT INTO tool_calls (id, user_id, session_id, server_id, tool, arguments, result, is_error, status, duration_ms, created_at)
SELECT @id, s.user_id, s.id, @server_id, @tool, @arguments, sqlc.narg('result'), @is_error, @status, @duration_ms, @created_at
FROM sessions s WHERE s.id = @session_id AND s.user_id = @user_id;

-- name: ListToolCalls :many
-- Newest first; keyset on (created_at, id).
SELECT * FROM tool_calls
WHERE session_id = @session_id AND user_id = @user_id
  AND (created_at, id) < (coalesce(sqlc.narg('before_created')::timestamptz, 'infinity'),
                          coalesce(sqlc.narg('before_id')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;
