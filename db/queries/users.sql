-- name: CreateUser :one
INSERT INTO users (email, email_skeleton, username, password_hash, roles)
VALUES (@email, @email_skeleton::text, sqlc.narg('username'), @password_hash, @roles)
RETURNING *;

-- name: ListUsersWithoutSkeleton :many
SELECT id, email FROM users WHERE email_skeleton IS NULL ORDER BY id;

-- name: SetEmailSkeleton :exec
UPDATE users SET email_skeleton = @email_skeleton::text WHERE id = @id AND email_skeleton IS NULL;

-- name: GetUser :one
SELECT * FROM users WHERE id = $1;

-- name: GetUserForUpdate :one
SELECT * FROM users WHERE id = $1 FOR UPDATE;

-- name: GetUserByLogin :one
-- The identifier is an email or a username, compared case-insensitively.
SELECT * FROM users
WHERE lower(email) = lower(@identifier) OR lower(username) = lower(@identifier)
ORDER BY (lower(email) = lower(@identifier)) DESC
LIMIT 1;

-- name: UpdateProfile :one
UPDATE users
SET username    = coalesce(sqlc.narg('username'), username),
    preferences = coalesce(sqlc.narg('preferences')::jsonb, preferences),
    updated_at  = @now
WHERE id = @id
RETURNING *;

-- name: UpdatePassword :exec
UPDATE users SET password_hash = @password_hash, updated_at = @now WHERE id = @id;

-- name: AdminUpdateUser :one
UPDATE users
SET roles      = coalesce(sqlc.narg('roles')::text[], roles),
    is_active  = coalesce(sqlc.narg('is_active')::boolean, is_active),
    updated_at = @now
WHERE id = @id
RETURNING *;

-- name: DeleteUser :execrows
DELETE FROM users WHERE id = $1;

-- name: ListUsers :many
-- Oldest first; keyset on (created_at, id); optional case-insensitive email prefix.
SELECT u.*,
       (SELECT max(ul.locked_until) FROM user_lockouts ul
        WHERE ul.user_id = u.id AND ul.locked_until > sqlc.arg(now)::timestamptz
       ) AS locked_until
FROM users u
WHERE (sqlc.narg('email_prefix')::text IS NULL OR lower(u.email) LIKE sqlc.narg('email_prefix') || '%')
  AND (u.created_at, u.id) > (coalesce(sqlc.narg('after_created')::timestamptz, '-infinity'),
                              coalesce(sqlc.narg('after_id')::uuid, '00000000-0000-0000-0000-000000000000'))
ORDER BY u.created_at, u.id
LIMIT @max_rows;

-- name: LockActiveAdmins :many
-- Every active administrator, locked in id order. A change that could remove the last one takes
-- these locks first, so two such changes run one after the other and the second sees the first
-- (a row that stopped matching while it waited is skipped). NO KEY UPDATE leaves the admins'
-- sign-ins alone: their refresh rows' foreign-key checks only need KEY SHARE.
SELECT id FROM users
WHERE is_active AND 'admin' = ANY(roles)
ORDER BY id
FOR NO KEY UPDATE;
