-- name: CreateMCPServer :one
-- The id comes from the caller: the sealed headers are bound to it before the row exists.
INSERT INTO mcp_servers (id, user_id, scope, project_id, name, transport, url, command, args, header_names,
    header_hints, headers_sealed, tool_allowlist, enabled, created_at, updated_at)
VALUES (@id, sqlc.narg('user_id'), @scope, sqlc.narg('project_id'), @name, @transport, sqlc.narg('url'),
    sqlc.narg('command'), @args, @header_names, @header_hints, sqlc.narg('headers_sealed'),
    sqlc.narg('tool_allowlist'), @enabled, @now, @now)
RETURNING *;

-- name: GetMCPServer :one
-- A server the user may see: their own or a global one.
SELECT * FROM mcp_servers WHERE id = @id AND (user_id = @user_id OR user_id IS NULL);

-- name: GetMCPServerForUpdate :one
SELECT * FROM mcp_servers WHERE id = @id AND (user_id = @user_id OR user_id IS NULL) FOR UPDATE;

-- name: ListMCPServers :many
-- Own and global servers, newest first; each branch walks its own index and stops at the limit.
SELECT s.* FROM (
    (SELECT * FROM mcp_servers o
     WHERE o.user_id = @user_id
       AND (o.created_at, o.id) < (coalesce(sqlc.narg('before_created')::timestamptz, 'infinity'),
                                   coalesce(sqlc.narg('before_id')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
     ORDER BY o.created_at DESC, o.id DESC LIMIT @max_rows)
    UNION ALL
    (SELECT * FROM mcp_servers g
     WHERE g.user_id IS NULL
       AND (g.created_at, g.id) < (coalesce(sqlc.narg('before_created')::timestamptz, 'infinity'),
                                   coalesce(sqlc.narg('before_id')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
     ORDER BY g.created_at DESC, g.id DESC LIMIT @max_rows)
) s
ORDER BY s.created_at DESC, s.id DESC
LIMIT @max_rows;

-- name: UpdateMCPServer :one
-- Writes every field (the registry merges a PATCH first, under the row lock).
UPDATE mcp_servers
SET project_id = sqlc.narg('project_id'), name = @name, transport = @transport, url = sqlc.narg('url'),
    command = sqlc.narg('command'), args = @args, header_names = @header_names, header_hints = @header_hints,
    headers_sealed = sqlc.narg('headers_sealed'), tool_allowlist = sqlc.narg('tool_allowlist'), enabled = @enabled,
    version = version + 1, updated_at = @now
WHERE id = @id
RETURNING *;

-- name: DeleteMCPServer :exec
DELETE FROM mcp_servers WHERE id = @id;
