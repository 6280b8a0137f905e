-- name: CreateRefreshFamily :one
INSERT INTO refresh_families (user_id, audience, created_at) VALUES (@user_id, @audience, @now)
RETURNING *;

-- name: GetRefreshFamily :one
SELECT * FROM refresh_families WHERE id = $1;

-- name: RevokeRefreshFamily :exec
UPDATE refresh_families SET revoked_at = @now, revoked_reason = @reason
WHERE id = @id AND revoked_at IS NULL;

-- name: RevokeUserRefreshFamilies :many
-- Every live family of the user except keep_id (which may be NULL); returns the revoked ids.
UPDATE refresh_families SET revoked_at = @now, revoked_reason = @reason
WHERE user_id = @user_id AND revoked_at IS NULL
  AND (sqlc.narg('keep_id')::uuid IS NULL OR id <> sqlc.narg('keep_id'))
RETURNING id;

-- name: ListUserRefreshFamilyIDs :many
SELECT id FROM refresh_families WHERE user_id = $1 AND revoked_at IS NULL;

-- name: InsertRefreshToken :one
INSERT INTO refresh_tokens (family_id, token_hash, created_at, expires_at)
VALUES (@family_id, @token_hash, @now, @expires_at)
RETURNING *;

-- name: LockRefreshToken :one
-- The presented token and its family, row-locked so concurrent refreshes serialise.
SELECT t.id, t.family_id, t.created_at, t.expires_at, t.rotated_at, t.child_id, t.child_enc,
       f.user_id, f.audience, f.revoked_at AS family_revoked_at
FROM refresh_tokens t
JOIN refresh_families f ON f.id = t.family_id
WHERE t.token_hash = $1
FOR UPDATE OF t, f;

-- name: MarkRefreshTokenRotated :exec
UPDATE refresh_tokens SET rotated_at = @now, child_id = @child_id, child_enc = @child_enc WHERE id = @id;

-- name: GetRefreshToken :one
SELECT * FROM refresh_tokens WHERE id = $1;

-- name: ForgetChildSecret :exec
-- Once a child is rotated its parent no longer needs the encrypted copy kept for the grace window.
UPDATE refresh_tokens SET child_enc = NULL WHERE child_id = $1;
