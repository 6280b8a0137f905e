-- name: InsertFile :one
INSERT INTO files (user_id, project_id, path, name, blob_key, size, content_type, sha256, created_at, updated_at)
VALUES (@user_id, sqlc.narg('project_id'), sqlc.narg('path'), @name, @blob_key, @size, @content_type, @sha256, @now, @now)
RETURNING *;

-- name: GetFile :one
SELECT * FROM files WHERE id = @id AND user_id = @user_id;

-- name: ListFiles :many
-- Newest first; keyset on (created_at, id); optionally the files of one project.
SELECT * FROM files
WHERE user_id = @user_id
  AND (sqlc.narg('project_id')::uuid IS NULL OR project_id = sqlc.narg('project_id'))
  AND (created_at, id) < (coalesce(sqlc.narg('before_created')::timestamptz, 'infinity'),
                          coalesce(sqlc.narg('before_id')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: ListDirectory :many
-- The entries of one directory of a (user, project) tree in byte order of their key (see
-- file_entry_key: the key of a sub-directory ends in a slash, so a and a/ are two entries).
-- Every path in the directory lies in [dir_lo, dir_hi): the directory with its trailing slash,
-- and the same with that slash raised to 0, an index range. any_id is the id of the file for a
-- file entry; file_count counts the files below a directory.
SELECT e.entry_key::text AS entry_key, min(e.id::text)::uuid AS any_id, count(*)::bigint AS file_count
FROM (
    SELECT f.id, file_entry_key(f.path, sqlc.arg(dir_lo)::text) AS entry_key
    FROM files f
    WHERE f.user_id = sqlc.arg(user_id)
      AND coalesce(f.project_id, '00000000-0000-0000-0000-000000000000'::uuid) = coalesce(sqlc.narg(project_id)::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
      AND f.path >= sqlc.arg(dir_lo)::text AND f.path < sqlc.arg(dir_hi)::text
) e
WHERE e.entry_key > sqlc.arg(after_key)::text
GROUP BY e.entry_key
ORDER BY e.entry_key
LIMIT sqlc.arg(max_rows);

-- name: FilesByID :many
SELECT * FROM files WHERE user_id = @user_id AND id = ANY(@ids::uuid[]);

-- name: GetFileForUpdate :one
SELECT * FROM files WHERE id = @id AND user_id = @user_id FOR UPDATE;

-- name: MoveFile :one
UPDATE files SET path = sqlc.narg('path'), name = @name, version = version + 1, updated_at = @now
WHERE id = @id AND user_id = @user_id
RETURNING *;

-- name: DeleteFile :execrows
DELETE FROM files
WHERE id = @id AND user_id = @user_id
  AND (sqlc.narg('expected_version')::bigint IS NULL OR version = sqlc.narg('expected_version'));

-- name: FileByID :one
-- For a signed download URL: the signature, not a session, names the owner.
SELECT * FROM files WHERE id = @id;
