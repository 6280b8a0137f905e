-- name: CreateProject :one
INSERT INTO projects (user_id, name, description, path, settings, created_at, updated_at)
VALUES (@user_id, @name, sqlc.narg('description'), sqlc.narg('path'), @settings, @now, @now)
RETURNING *;

-- name: GetProject :one
SELECT * FROM projects WHERE id = @id AND user_id = @user_id;

-- name: ListProjects :many
-- Newest first; keyset on (created_at, id); optional case-insensitive name search.
SELECT * FROM projects
WHERE user_id = @user_id
  AND (sqlc.narg('name_like')::text IS NULL OR lower(name) LIKE sqlc.narg('name_like'))
  -- No cursor: start above every row, so the keyset bound is always an index condition.
  AND (created_at, id) < (coalesce(sqlc.narg('before_created')::timestamptz, 'infinity'),
                          coalesce(sqlc.narg('before_id')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: UpdateProject :one
-- Writes every field (the service merges a PATCH first); matches only the expected version
-- when one is given, so a stale If-Match changes nothing.
UPDATE projects
SET name = @name, description = sqlc.narg('description'), path = sqlc.narg('path'), settings = @settings,
    version = version + 1, updated_at = @now
WHERE id = @id AND user_id = @user_id
  AND (sqlc.narg('expected_version')::bigint IS NULL OR version = sqlc.narg('expected_version'))
RETURNING *;

-- name: DeleteProject :execrows
DELETE FROM projects
WHERE id = @id AND user_id = @user_id
  AND (sqlc.narg('expected_version')::bigint IS NULL OR version = sqlc.narg('expected_version'));

-- name: GetProjectForUpdate :one
SELECT * FROM projects WHERE id = @id AND user_id = @user_id FOR UPDATE;
