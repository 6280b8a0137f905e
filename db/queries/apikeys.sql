-- name: CreateAPIKey :one
INSERT INTO api_keys (user_id, name, prefix, key_hash, expires_at, created_at)
VALUES (@user_id, @name, @prefix, @key_hash, sqlc.narg('expires_at'), @now)
RETURNING *;

-- name: ListAPIKeys :many
-- The user's live keys, oldest first; keyset on (created_at, id).
SELECT * FROM api_keys
WHERE user_id = @user_id AND revoked_at IS NULL
  AND (created_at, id) > (coalesce(sqlc.narg('after_created')::timestamptz, '-infinity'),
                          coalesce(sqlc.narg('after_id')::uuid, '00000000-0000-0000-0000-000000000000'))
ORDER BY created_at, id
LIMIT @max_rows;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = @now
WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL;

-- name: RotateAPIKey :one
UPDATE api_keys
SET previous_hash = CASE WHEN sqlc.narg(grace_until)::timestamptz IS NOT NULL THEN key_hash END,
    previous_valid_until = sqlc.narg(grace_until)::timestamptz,
    key_hash = sqlc.arg(key_hash),
    prefix = sqlc.arg(prefix)
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND revoked_at IS NULL
RETURNING *;

-- name: FindAPIKey :one
-- A live key by the hash of its current secret, or of its previous one within the grace period.
-- expires_at, previous_valid_until and current (the current secret matched, not the previous
-- one) say when this secret stops working by itself, so a cached answer is never trusted past it.
SELECT k.id, k.user_id, k.last_used_at, u.roles, u.is_active, k.expires_at, k.previous_valid_until,
       (k.key_hash = @key_hash)::boolean AS current
FROM api_keys k
JOIN users u ON u.id = k.user_id
WHERE (k.key_hash = @key_hash OR (k.previous_hash = @key_hash AND k.previous_valid_until > @now))
  AND k.revoked_at IS NULL
  AND (k.expires_at IS NULL OR k.expires_at > @now);

-- name: TouchAPIKey :exec
-- Written at most once a minute per key, so busy keys do not turn every request into a write.
UPDATE api_keys SET last_used_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND (last_used_at IS NULL OR last_used_at < sqlc.arg(stale_before)::timestamptz);

-- name: CountActiveAPIKeys :one
-- Keys that still work (not revoked, not expired): what the per-user cap counts.
SELECT count(*) FROM api_keys
WHERE user_id = @user_id AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now);

-- name: RevokeUserAPIKeys :many
-- Ends every live key of the user (a password change that asks for it).
UPDATE api_keys SET revoked_at = @now
WHERE user_id = @user_id AND revoked_at IS NULL
RETURNING id;

-- name: ForgetAPIKeyResponses :exec
-- Drops the stored idempotent responses of the user's requests that created or rotated these
-- keys: once a key is revoked nothing about it may be replayed.
DELETE FROM idempotency_keys WHERE owner = @user_id AND subject_id = ANY(@ids::uuid[]);
